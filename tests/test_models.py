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
