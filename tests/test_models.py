import pytest
import torch

from takdlib.models import MODEL_NAMES, build_model, count_parameters, model_size


@pytest.mark.parametrize("name,expected", [("resnet20", 0.27e6), ("resnet56", 0.85e6), ("resnet110", 1.7e6)])
def test_resnet_parameter_counts_match_he_et_al(name, expected):
    # He et al. 2016, Table 6 (rounded to two significant digits there)
    assert count_parameters(build_model(name)) == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("classes", [10, 100])
def test_every_model_maps_a_batch_to_logits(name, classes):
    model = build_model(name, classes).eval()
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, classes)


def test_plain_specs_follow_the_papers_tables():
    # CIFAR-10 plain8: 4 pools -> 128 x 2 x 2 into FC64, then FC10
    fcs = [m for m in build_model("plain8", 10).head if isinstance(m, torch.nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [(512, 64), (64, 10)]
    # CIFAR-100 plain6 has no third pool: 128 x 8 x 8 into FC100
    fcs = [m for m in build_model("plain6", 100).head if isinstance(m, torch.nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [(128 * 8 * 8, 100)]
    # CIFAR-100 plain10's hidden FC is 512 wide, CIFAR-10's 128
    assert build_model("plain10", 100).head[1].out_features == 512
    assert build_model("plain10", 10).head[1].out_features == 128
    convs = [m for m in build_model("plain10").modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128, 128, 256, 256, 256, 256]


def test_features_come_from_the_same_forward_pass():
    model = build_model("resnet20").eval()
    x = torch.randn(2, 3, 32, 32)
    logits, feats = model(x, features=True)
    assert torch.equal(logits, model(x))
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    _, feats = build_model("plain10").eval()(x, features=True)
    assert len(feats) == 10 and tuple(feats[2].shape[1:]) == (64, 16, 16)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="known models: plain2, plain4.*resnet110"):
        build_model("plain3")
    with pytest.raises(ValueError, match="unknown model"):
        model_size("vgg16")
    assert model_size("resnet110") == 110


def _grads(conv, x, precision):
    from takdlib.precision import autocast

    conv.zero_grad()
    x = x.clone().requires_grad_(True)
    with autocast(torch.device("cpu"), precision):
        out = conv(x)
    (out.float() * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
    return out.detach().float(), x.grad, conv.weight.grad, conv.bias.grad


@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-5), ("bf16", 2e-2)])
@pytest.mark.parametrize("side", [4, 8, 16])
def test_the_matmul_weight_gradient_is_autograds_to_rounding(precision, tolerance, side):
    from takdlib.models.conv import Conv3x3, uses_matmul_weight_grad

    torch.manual_seed(0)
    ours = Conv3x3(64, 48)
    reference = torch.nn.Conv2d(64, 48, 3, padding=1)
    reference.load_state_dict(ours.state_dict())  # the same parameters under the same names
    x = torch.randn(16, 64, side, side).to(memory_format=torch.channels_last)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    used = uses_matmul_weight_grad(64, side, dtype)
    for a, b in zip(_grads(ours, x, precision), _grads(reference, x, precision)):
        assert a.dtype == b.dtype and a.shape == b.shape
        error = ((a.float() - b.float()).norm() / b.float().norm()).item()
        assert error < tolerance if used else error == 0.0  # a larger map is oneDNN's own kernel, bit for bit
    assert used == (precision == "bf16" and side <= 8)  # bf16 on small maps; fp32 and 16 x 16 keep oneDNN's


def test_the_matmul_weight_gradient_moves_a_plain_cnn_as_autograd_does(monkeypatch):
    from takdlib.models import conv
    from takdlib.models.conv import Conv3x3
    from takdlib.precision import autocast

    calls = []
    monkeypatch.setattr(conv, "patches", lambda x, f=conv.patches: calls.append(x.shape) or f(x))

    model = build_model("plain10")
    assert sum(isinstance(m, Conv3x3) for m in model.modules()) == 10
    torch.manual_seed(0)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    twin = build_model("plain10")  # the same network, every conv nn.Conv2d's own
    twin.load_state_dict(model.state_dict())
    for name, module in list(twin.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, Conv3x3):
                plain = torch.nn.Conv2d(child.in_channels, child.out_channels, 3, padding=1)
                plain.load_state_dict(child.state_dict())
                setattr(module, child_name, plain)
    assert not any(isinstance(m, Conv3x3) for m in twin.modules())
    for m in (model, twin):
        with autocast(torch.device("cpu"), "bf16"):
            loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
    # plain10's 64 -> 128 and 128 -> 128 layers at 8 x 8 and its four at 4 x 4
    assert sorted(s[1] for s in calls) == [64, 128, 128, 256, 256, 256]
    for (name, a), b in zip(model.named_parameters(), twin.parameters()):
        assert ((a.grad - b.grad).norm() / b.grad.norm()).item() < 2e-2, name  # bf16's rounding
