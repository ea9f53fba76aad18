import pytest
import torch
import torch.nn.functional as F

from takdlib.losses import (bernoulli_keep, dgkd_loss, fixed_drop_keep, hint_loss, hint_regressor, kd_loss,
                            kd_term)


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g), torch.randint(0, 10, (8,), generator=g)


def by_hand_kl(s, t, tau):
    """KL(p_t || p_s) per example, summed over classes, by the definition."""
    p_t = torch.softmax(t / tau, 1)
    return (p_t * (torch.log(p_t) - torch.log_softmax(s / tau, 1))).sum(1)


def test_kd_term_is_tau_squared_batchmean_kl_teacher_to_student(logits):
    s, t, _ = logits
    for tau in (1.0, 4.0, 20.0):
        assert kd_term(s, t, tau).item() == pytest.approx(tau**2 * by_hand_kl(s, t, tau).mean().item(), rel=1e-5)
    # direction: a peaked teacher against a uniform student is KL(p_t || p_s) = log(10) - H(p_t),
    # not the reverse KL, which is far larger
    peaked, uniform = torch.tensor([[20.0] + [0.0] * 9]), torch.zeros(1, 10)
    p = torch.softmax(peaked, 1)
    entropy = -(p * torch.log(p)).sum()
    assert kd_term(uniform, peaked, 1.0).item() == pytest.approx((torch.log(torch.tensor(10.0)) - entropy).item(), rel=1e-4)
    assert kd_term(peaked, uniform, 1.0).item() > 2 * kd_term(uniform, peaked, 1.0).item()


def test_elementmean_is_the_takd_codes_smaller_kl(logits):
    s, t, _ = logits
    assert kd_term(s, t, 4.0, "elementmean").item() == pytest.approx(kd_term(s, t, 4.0).item() / 10, rel=1e-5)
    with pytest.raises(ValueError, match="unknown KL reduction"):
        kd_term(s, t, 4.0, "sum")


def test_lambda_zero_is_cross_entropy_and_one_is_pure_kd(logits):
    s, t, y = logits
    assert kd_loss(s, t, y, tau=4.0, lam=0.0).item() == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-6)
    assert kd_loss(s, t, y, tau=4.0, lam=1.0).item() == pytest.approx(kd_term(s, t, 4.0).item(), rel=1e-6)
    mixed = 0.7 * F.cross_entropy(s, y) + 0.3 * 16 * by_hand_kl(s, t, 4.0).mean()
    assert kd_loss(s, t, y, tau=4.0, lam=0.3).item() == pytest.approx(mixed.item(), rel=1e-5)


def test_dgkd_with_one_kept_guide_is_plain_kd(logits):
    s, t, y = logits
    others = [torch.randn(8, 10), torch.randn(8, 10)]
    keep = torch.tensor([False, True, False])
    assert dgkd_loss(s, [others[0], t, others[1]], y, 4.0, 0.5, keep).item() == pytest.approx(
        kd_loss(s, t, y, 4.0, 0.5).item(), rel=1e-6)
    every = dgkd_loss(s, [t, *others], y, 4.0, 0.5)
    assert every.item() == pytest.approx(sum(kd_loss(s, g, y, 4.0, 0.5).item() for g in [t, *others]), rel=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        dgkd_loss(s, [t], y, 4.0, 0.5, torch.tensor([False]))


def test_bernoulli_drop_keeps_at_least_one_guide_and_matches_its_rate():
    g = torch.Generator().manual_seed(0)
    masks = torch.stack([bernoulli_keep(4, 0.75, g) for _ in range(4000)])
    assert masks.any(1).all()
    assert masks.float().mean().item() == pytest.approx(0.75, abs=0.02)
    never = torch.stack([bernoulli_keep(3, 0.0, g) for _ in range(200)])
    assert (never.sum(1) == 1).all()  # everything dropped -> exactly one guide put back


def test_fixed_drop_removes_exactly_drop_num_guides():
    g = torch.Generator().manual_seed(0)
    masks = torch.stack([fixed_drop_keep(4, 1, g) for _ in range(400)])
    assert (masks.sum(1) == 3).all()
    assert masks.float().mean(0).min() > 0.6  # each guide dropped sometimes, uniformly
    with pytest.raises(ValueError):
        fixed_drop_keep(2, 2, g)


def test_gradients_reach_only_the_student_and_the_regressor():
    torch.manual_seed(0)
    student, teacher = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Conv2d(3, 6, 3, padding=1)
    regressor = hint_regressor(4, 6)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        hint = teacher(x)
    loss = hint_loss(student(x), hint, regressor)
    loss.backward()
    assert all(p.grad is not None for p in [*student.parameters(), *regressor.parameters()])
    assert all(p.grad is None for p in teacher.parameters())
    assert loss.item() == pytest.approx(0.5 * ((regressor(student(x)) - hint) ** 2).mean().item(), rel=1e-5)

    s = torch.randn(4, 10, requires_grad=True)
    t = torch.randn(4, 10, requires_grad=True)
    kd_loss(s, t.detach(), torch.tensor([0, 1, 2, 3]), 4.0, 0.5).backward()
    assert s.grad is not None and t.grad is None
