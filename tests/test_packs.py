"""A store that travels: teachers packed on one machine and unpacked under a renamed copy of the data train
nothing again; a damaged or foreign pack is refused, the file named, and nothing of it is used."""
import io
import shutil
import tarfile

import pytest

from takdlib import store as store_mod
from takdlib.packs import BadPack, pack, select, unpack
from takdlib.profiles import recipes_for
from takdlib.store import Store
from conftest import tiny


@pytest.fixture
def trained(tmp_path, jpeg_archive, monkeypatch):
    """A store holding a tiny chain: teacher plain4, student plain2 (smoke)."""
    monkeypatch.setenv("TAKD_CACHE", str(tmp_path / "cache"))
    student = tiny(recipes_for("smoke").chain(["plain4", "plain2"], 0))
    Store(tmp_path / "instructor", jpeg_archive, log=lambda _: None).get(student)
    return tmp_path / "instructor", student


def test_packed_teachers_unpacked_beside_a_renamed_data_file_train_nothing(trained, tmp_path, jpeg_archive,
                                                                           monkeypatch, capsys):
    root, student = trained
    assert store_mod.main(["pack", str(tmp_path / "teachers.tar.gz"), "--store", str(root), "--role", "teacher"]) == 0
    assert "packed 1 models" in capsys.readouterr().out
    renamed = tmp_path / "class" / "cifar-copy.tar.gz"
    renamed.parent.mkdir()
    shutil.copy(jpeg_archive, renamed)
    assert store_mod.main(["unpack", str(tmp_path / "teachers.tar.gz"), "--store", str(tmp_path / "class" / "s")]) == 0
    assert "1 models added" in capsys.readouterr().out
    calls = []
    real_train = store_mod.train
    monkeypatch.setattr(store_mod, "train", lambda recipe, *a, **k: calls.append(recipe.arch) or real_train(recipe, *a, **k))
    Store(tmp_path / "class" / "s", renamed, log=lambda _: None).get(student)
    assert calls == ["plain2"]  # the student trains; its teacher came from the pack
    again = unpack(tmp_path / "teachers.tar.gz", tmp_path / "class" / "s")
    assert again == (0, 1)  # already there: left as it is


def test_a_damaged_pack_is_refused_naming_the_file(trained, tmp_path):
    root, _ = trained
    good = tmp_path / "all.tar.gz"
    index = pack(root, good, select(root))
    assert len(index["models"]) == 2
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(good) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith("/model.pt"):
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(member, None if data is None else io.BytesIO(data))
    with pytest.raises(BadPack, match=r"model.pt is damaged"):
        unpack(damaged, tmp_path / "other")
    assert not list((tmp_path / "other").rglob("meta.json"))  # nothing of the damaged model is kept


def test_a_foreign_archive_is_refused(tmp_path):
    foreign = tmp_path / "photos.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        (tmp_path / "a.txt").write_text("hello")
        tar.add(tmp_path / "a.txt", arcname="a.txt")
    with pytest.raises(BadPack, match="not a takdlib pack"):
        unpack(foreign, tmp_path / "s")
    (tmp_path / "junk.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(BadPack, match="not a takdlib pack"):
        unpack(tmp_path / "junk.bin", tmp_path / "s")
