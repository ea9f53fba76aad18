from dataclasses import replace

import pytest

from takdlib.methods import DGKDSettings, HintSettings, KDSettings
from takdlib.recipes import STUDENT_SEED_STRIDE, Recipes, augmented, with_data
from takdlib.profiles import PROFILES, get_profile, recipes_for


def test_address_is_stable_and_covers_every_field():
    a, b = recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 0), recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 0)
    assert a.address() == b.address() and len(a.address()) == 64
    variants = [replace(a, method=KDSettings(tau=5.0)), replace(a, seed=1), replace(a, method=KDSettings(kl="elementmean")),
                replace(a, guides=(recipes_for("cpu").chain(["plain10", "plain6"], 0),)), with_data(a, augment=True),
                recipes_for("smoke").chain(["plain10", "plain4", "plain2"], 0)]
    assert len({a.address(), *(v.address() for v in variants)}) == len(variants) + 1


def test_a_recipe_records_its_role_but_its_address_and_equality_ignore_it():
    R = recipes_for("cpu")
    takd = R.chain(["plain10", "plain4", "plain2"], 0)
    assert (takd.role, takd.guides[0].role, takd.guides[0].guides[0].role) == ("student", "assistant", "teacher")
    as_ta = R.scratch("plain2", 0, role="assistant")
    shared = replace(get_profile("cpu"), assistant=get_profile("cpu").student)  # one regime for both roles
    a, b = Recipes(shared).scratch("plain2", 0), Recipes(shared).scratch("plain2", 0, role="assistant")
    assert a == b and a.address() == b.address() and (a.role, b.role) == ("student", "assistant")
    assert as_ta.role == "assistant" and as_ta.as_dict()["role"] == "assistant" and "role" not in as_ta.as_dict(False)
    with pytest.raises(ValueError, match="role"):
        replace(as_ta, role="mentor")


def test_chain_nests_its_lineage():
    r = recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 3)
    assert (r.arch, r.method.name, r.seed) == ("plain2", "kd", 3)
    ta = r.guides[0]
    assert (ta.arch, ta.method.name) == ("plain4", "kd") and ta.guides[0] == recipes_for("cpu").teacher("plain10", 3)
    assert r.describe() == "plain2 <- plain4 <- plain10"


def test_baselines_are_nokd_blkd_takd():
    b = recipes_for("cpu").baselines(["plain10", "plain4", "plain2"], 0)
    assert b["NOKD"] == recipes_for("cpu").scratch("plain2", 0)
    assert b["BLKD"] == recipes_for("cpu").distill("plain2", recipes_for("cpu").teacher("plain10", 0))
    assert b["TAKD"] == recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 0)


def test_dgkd_guides_are_the_teacher_and_every_larger_ta():
    dropping = replace(PROFILES["cpu"].dgkd, drop="bernoulli", keep_prob=0.5)
    r = recipes_for("cpu").dgkd(["plain10", "plain8", "plain6", "plain4", "plain2"], 0, dropping)
    assert [g.arch for g in r.guides] == ["plain10", "plain8", "plain6", "plain4"]
    assert (r.method.drop, r.method.keep_prob) == ("bernoulli", 0.5)
    # the first TA has one guide, where DGKD is KD: it is TAKD's stored model
    assert r.guides[1] == recipes_for("cpu").chain(["plain10", "plain8", "plain2"], 0).guides[0]
    assert [g.arch for g in r.guides[3].guides] == ["plain10", "plain8", "plain6"]
    assert r.guides[3].method == PROFILES["cpu"].dgkd and r.guides[3].method.drop == "none"


def test_fitnet_is_kd_initialised_from_a_hint_stage():
    r = recipes_for("cpu").fitnet("resnet14", recipes_for("cpu").teacher("plain10", 0), HintSettings(layers=(1, 2)))
    assert r.method == PROFILES["cpu"].kd and r.init.method == HintSettings(layers=(1, 2))
    assert r.init.optim.epochs == PROFILES["cpu"].student.resnet.epochs // 2


def test_teachers_assistants_and_students_are_trained_in_their_roles_on_the_same_images():
    cpu = PROFILES["cpu"]
    takd = recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 0)
    ta, head = takd.guides[0], takd.guides[0].guides[0]
    assert head == recipes_for("cpu").teacher("plain10", 0) and head.data.augment and head.optim == cpu.teacher.plain
    # assistants and students in their regime, at their method's tuned rate (teachers keep the regime's)
    kd_rate, alone_rate = cpu.tuning.lr("kd", "plain2"), cpu.tuning.lr("scratch", "plain2")
    assert ta.data == cpu.assistant.data and ta.optim == replace(cpu.assistant.plain, lr=kd_rate)
    assert takd.data == cpu.student.data and takd.optim == replace(cpu.student.plain, lr=kd_rate)
    assert not ta.data.augment and not takd.data.augment
    assert recipes_for("cpu").scratch("plain2", 0).optim == replace(cpu.student.plain, lr=alone_rate)
    assert recipes_for("cpu").scratch("plain4", 0, role="assistant").data == ta.data
    # DGKD's TAs are assistants too; the first one is TAKD's TA (one training, one address)
    dense = recipes_for("cpu").dgkd(["plain10", "plain6", "plain4", "plain2"], 0)
    assert dense.guides[1] == recipes_for("cpu").chain(["plain10", "plain6", "plain2"], 0).guides[0]
    assert dense.guides[2].data == cpu.assistant.data
    same_images = ("dataset", "val_per_class", "split_seed", "input_std")
    for a, b in ((head, takd), (ta, takd)):
        assert all(getattr(a.data, f) == getattr(b.data, f) for f in same_images)
    # a TA's mistakes are compared with its student's image by image (06): they share the test images; teachers
    # are compared with each other, and are scored on the whole test set
    assert ta.data.test_per_class == takd.data.test_per_class and head.data.test_per_class is None
    # the students' images are a subset of the assistants', and those of the teachers' (see test_data)
    every = float("inf")  # None: every training image not held out
    assert takd.data.train_per_class <= ta.data.train_per_class <= (head.data.train_per_class or every)
    assert recipes_for("cpu").teacher("plain2", 0) != recipes_for("cpu").scratch("plain2", 0)
    with pytest.raises(ValueError, match="unknown role"):
        recipes_for("cpu").scratch("plain2", 0, role="mentor")


def test_augmented_changes_the_student_only():
    takd = recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 0)
    aug = augmented(takd)
    assert aug.data.augment and aug.guides == takd.guides and aug.address() != takd.address()


def test_bad_recipes_are_refused_with_the_known_values():
    with pytest.raises(ValueError, match="known: smoke, cpu"):
        get_profile("laptop")
    with pytest.raises(ValueError, match="unknown model"):
        recipes_for("cpu").scratch("plain3", 0)
    with pytest.raises(ValueError, match="must be a method's settings"):
        replace(recipes_for("cpu").scratch("plain2", 0), method="magic")
    with pytest.raises(ValueError, match="takes 1 to 1 guides, got 0"):
        replace(recipes_for("cpu").scratch("plain2", 0), method=KDSettings())


@pytest.mark.parametrize("change, message", [
    (dict(epochs=0), "optim.epochs"), (dict(lr=0.0), "optim.lr = 0.0"), (dict(lr=-0.1), "optim.lr"),
    (dict(batch_size=1), "optim.batch_size"), (dict(momentum=1.0), "optim.momentum"),
    (dict(precision="fp8"), "optim.precision"), (dict(schedule="cosine"), "optim.schedule"),
    (dict(milestones=(200,)), "optim.milestones"), (dict(weight_decay=-1e-4), "optim.weight_decay"),
])
def test_optimiser_values_are_checked(change, message):
    r = recipes_for("cpu").scratch("plain2", 0)
    with pytest.raises(ValueError, match=message):
        replace(r, optim=replace(r.optim, **change))


def test_data_values_and_drop_num_are_checked():
    r = recipes_for("cpu").scratch("plain2", 0)
    with pytest.raises(ValueError, match="data.train_per_class"):
        replace(r, data=replace(r.data, train_per_class=0))
    with pytest.raises(ValueError, match="data.dataset"):
        replace(r, data=replace(r.data, dataset="mnist"))
    with pytest.raises(ValueError, match="drop_num = 4 .*below the number of guides"):
        recipes_for("cpu").dgkd(["plain10", "plain8", "plain6", "plain4", "plain2"], 0,
                                DGKDSettings(drop="fixed", drop_num=4))


def test_paper_profile_follows_the_text_and_paper_code_the_code():
    text, code = PROFILES["paper"], PROFILES["paper_code"]
    plain, resnet = text.student.plain, text.student.resnet
    assert (plain.epochs, plain.lr, plain.schedule, plain.nesterov) == (150, 0.1, "constant", True)
    assert (resnet.schedule, resnet.milestones, resnet.nesterov) == ("step", (80, 120), True)
    assert text.data.input_std == 0.5 and text.data.train_per_class is None and not text.data.augment
    assert (code.student.plain.epochs, code.student.plain.lr, code.student.plain.nesterov) == (160, 0.01, False)
    assert code.student.resnet.schedule == "takd_code" and code.seeds == (20, 31, 55)
    assert code.kd.kl == code.dgkd.kl == "elementmean"
    assert recipes_for("paper_code").chain(["plain10", "plain2"], 20).method.kl == "elementmean"
    assert text.teacher == text.student  # the papers train every model alike


def test_a_cheap_student_is_trained_once_per_student_seed_sharing_its_guides():
    n = 3
    R = Recipes(replace(get_profile("cpu"), students_per_seed=n, cheap_students=("plain2",)))
    takd = R.chain(["plain10", "plain4", "plain2"], 1)
    students = R.student_seeds(takd)
    assert students[0] == takd and [s.seed for s in students] == [1 + k * STUDENT_SEED_STRIDE for k in range(n)]
    assert all(s.guides == takd.guides for s in students)  # one teacher and TA per seed
    assert len({s.address() for s in students}) == n
    resnet_student = R.chain(["resnet20", "resnet14", "resnet8"], 1)
    assert R.student_seeds(resnet_student) == (resnet_student,)  # not cheap: one student per seed
    plain = recipes_for("cpu").chain(["plain10", "plain4", "plain2"], 1)
    assert recipes_for("cpu").student_seeds(plain) == (plain,)  # the cpu profile's students learn from 1,000 per class
    assert recipes_for("paper").student_seeds(recipes_for("paper").chain(["plain10", "plain2"], 20)) == (recipes_for("paper").chain(["plain10", "plain2"], 20),)


def test_a_profile_refuses_a_bad_student_count():
    with pytest.raises(ValueError, match="students_per_seed"):
        replace(get_profile("cpu"), students_per_seed=0)
    with pytest.raises(ValueError, match="cheap_students"):
        replace(get_profile("cpu"), cheap_students=("plain3",))


def test_cpu_fp32_is_the_cpu_design_in_fp32():
    cpu, fp32 = PROFILES["cpu"], PROFILES["cpu_fp32"]
    for role in ("teacher", "assistant", "student"):
        for family in ("plain", "resnet"):
            a, b = getattr(cpu.regime(role), family), getattr(fp32.regime(role), family)
            assert (a.precision, b.precision) == ("bf16", "fp32") and replace(a, precision="fp32") == b
        assert cpu.regime(role).data == fp32.regime(role).data
    assert fp32.seeds == cpu.seeds and fp32.students_per_seed == cpu.students_per_seed
    assert recipes_for("cpu").chain(["plain10", "plain2"], 0).address() != recipes_for("cpu_fp32").chain(["plain10", "plain2"], 0).address()


def test_an_unregistered_profile_builds_every_kind_of_recipe_from_its_own_settings():
    """No builder looks a profile up by name: a Profile built here (unregistered, or under a registered name
    with other settings) gives its own regimes to every recipe the notebooks build."""
    smoke = get_profile("smoke")
    for name in ("my_course", "smoke"):
        mine = replace(smoke, name=name, students_per_seed=4, cheap_students=("plain2", "resnet8"),
                       student=replace(smoke.student, plain=replace(smoke.student.plain, epochs=7),
                                       resnet=replace(smoke.student.resnet, epochs=6)))
        R = Recipes(mine)
        students = [R.scratch("plain2", 0), R.chain(["plain10", "plain4", "plain2"], 0),
                    R.dgkd(["plain10", "plain4", "plain2"], 0, DGKDSettings(drop="bernoulli", keep_prob=0.75)),
                    *R.baselines(["plain10", "plain4", "plain2"], 0).values(),
                    R.distill("plain2", R.teacher("plain10", 0))]
        assert all(r.optim.epochs == 7 and r.profile == name for r in students)
        assert all(len(R.student_seeds(r)) == 4 for r in students)
        fit = R.fitnet("resnet8", R.teacher("resnet20", 0), HintSettings(layers=(1, 1)))
        assert fit.optim.epochs + fit.init.optim.epochs == 6 and len(R.student_seeds(fit)) == 4
        assert R.on("cifar100").scratch("plain2", 0).data.dataset == "cifar100"


def test_a_profile_is_described_from_its_fields_not_from_typed_text():
    from takdlib.profiles import summary

    cpu = get_profile("cpu")
    longer = replace(cpu, student=replace(cpu.student, plain=replace(cpu.student.plain, epochs=11)))
    assert "students 1,000 images/class, 8 epochs" in summary(cpu)
    assert "students 1,000 images/class, 11 epochs" in summary(longer) and summary(longer).endswith("bf16; 4 seeds")
