from dataclasses import replace

import pytest

from takdlib.recipes import PROFILES, baselines, chain, dgkd, distill, fitnet, get_profile, scratch, with_data


def test_address_is_stable_and_covers_every_field():
    a, b = chain(["plain10", "plain4", "plain2"], "cpu", 0), chain(["plain10", "plain4", "plain2"], "cpu", 0)
    assert a.address() == b.address() and len(a.address()) == 64
    variants = [replace(a, tau=5.0), replace(a, seed=1), replace(a, kl="elementmean"),
                replace(a, guides=(chain(["plain10", "plain6"], "cpu", 0),)), with_data(a, augment=True),
                chain(["plain10", "plain4", "plain2"], "smoke", 0)]
    assert len({a.address(), *(v.address() for v in variants)}) == len(variants) + 1


def test_chain_nests_its_lineage():
    r = chain(["plain10", "plain4", "plain2"], "cpu", 3)
    assert (r.arch, r.method, r.seed) == ("plain2", "kd", 3)
    ta = r.guides[0]
    assert (ta.arch, ta.method) == ("plain4", "kd") and ta.guides[0] == scratch("plain10", "cpu", 3)
    assert r.describe() == "plain2 <- plain4 <- plain10"


def test_baselines_are_nokd_blkd_takd():
    b = baselines(["plain10", "plain4", "plain2"], "cpu", 0)
    assert b["NOKD"] == scratch("plain2", "cpu", 0)
    assert b["BLKD"] == distill("plain2", scratch("plain10", "cpu", 0))
    assert b["TAKD"] == chain(["plain10", "plain4", "plain2"], "cpu", 0)


def test_dgkd_guides_are_the_teacher_and_every_larger_ta():
    r = dgkd(["plain10", "plain8", "plain6", "plain4", "plain2"], "cpu", 0, drop="bernoulli", keep_prob=0.5)
    assert [g.arch for g in r.guides] == ["plain10", "plain8", "plain6", "plain4"]
    assert (r.drop, r.keep_prob) == ("bernoulli", 0.5)
    # the first TA has one guide, where DGKD is KD: it is TAKD's stored model
    assert r.guides[1] == chain(["plain10", "plain8"], "cpu", 0)
    assert [g.arch for g in r.guides[3].guides] == ["plain10", "plain8", "plain6"] and r.guides[3].drop == "none"
    with pytest.raises(ValueError, match="unknown drop mode"):
        dgkd(["plain10", "plain2"], "cpu", 0, drop="sometimes")


def test_fitnet_is_kd_initialised_from_a_hint_stage():
    teacher = scratch("plain10", "cpu", 0)
    r = fitnet("resnet14", teacher, hint_layers=(1, 2))
    assert r.method == "kd" and r.init.method == "hint" and r.init.hint_layers == (1, 2)
    assert r.init.optim.epochs == PROFILES["cpu"].resnet_optim.epochs // 2


def test_bad_recipes_are_refused_with_the_known_values():
    with pytest.raises(ValueError, match="known: smoke, cpu, paper"):
        get_profile("laptop")
    with pytest.raises(ValueError, match="unknown model"):
        scratch("plain3", "cpu", 0)
    with pytest.raises(ValueError, match="unknown method"):
        replace(scratch("plain2", "cpu", 0), method="magic")
    with pytest.raises(ValueError, match="takes"):
        replace(scratch("plain2", "cpu", 0), method="kd")


def test_paper_profile_follows_the_takd_code():
    p = PROFILES["paper"]
    assert (p.plain_optim.epochs, p.plain_optim.lr, p.plain_optim.schedule) == (160, 0.01, "constant")
    assert p.resnet_optim.schedule == "takd_code" and p.seeds == (20, 31, 55)
    assert p.data.train_per_class is None and not p.data.augment
