import pytest

from takdlib.experiment import start
from takdlib.profiles import recipes_for
from conftest import tiny


def test_a_row_of_several_students_is_their_mean_under_the_seed_of_the_first(tmp_path, jpeg_archive, monkeypatch):
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    exp = start("t", "smoke", data=str(jpeg_archive), store=str(tmp_path / "store"), out_dir=str(tmp_path / "out"))
    students = tuple(tiny(r) for r in recipes_for("smoke").student_seeds(recipes_for("smoke").chain(["plain4", "plain2"], 3)))
    assert len(students) == 2
    alone = tiny(recipes_for("smoke").scratch("plain4", 3))
    table = exp.measure([({"what": "KD"}, students), ({"what": "alone"}, alone)])
    kd = table[table.what == "KD"].iloc[0]
    each = [exp.get(r).summary["final_test_acc"] for r in students]
    assert kd.seed == 3 and kd.students == 2 and kd.student_accs == each
    assert kd.acc == pytest.approx(sum(each) / 2)
    one = table[table.what == "alone"].iloc[0]
    assert one.students == 1 and one.acc == exp.get(alone).summary["final_test_acc"]
    assert len(exp.store.index()) == 4  # the teacher once, two students, the model alone
