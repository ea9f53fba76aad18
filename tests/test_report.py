import math
from pathlib import Path

import pytest
import torch

from takdlib.claims import counts_text
from takdlib.files import quoted, with_quoted, write_json
from takdlib.papers import PAPER
from takdlib.report import claims_markdown_file, claims_table, format_claims, main
from takdlib.stats import inherited_mistake_rate


def test_inherited_mistakes():
    y = torch.tensor([0, 1, 2, 3])
    ta = torch.tensor([0, 2, 0, 3])  # wrong on items 1 and 2
    student = torch.tensor([0, 2, 1, 1])  # repeats the TA's mistake on item 1 only
    assert inherited_mistake_rate(ta, student, y) == pytest.approx(50.0)
    assert math.isnan(inherited_mistake_rate(y, student, y))


def test_claims_table_reads_every_results_file_and_counts_each_kind(tmp_path):
    from takdlib.claims import paired

    up, down = {0: 2.0, 1: 2.1, 2: 2.2}, {0: 1.0, 1: 1.0, 2: 1.0}
    write_json({"claims": [paired("paper", "a beats b", "yes", up, down, "a", "b", "cpu")]}, tmp_path / "01_x.json")
    write_json({"claims": [paired("setup", "c beats d", "premise", down, up, "c", "d", "cpu"),
                           paired("question", "e | f", "ours", up, down, "e", "f", "smoke")]}, tmp_path / "02_y.json")
    rows = claims_table(tmp_path)
    assert [r["notebook"] for r in rows] == ["01_x", "02_y", "02_y"]
    assert rows[2]["verdict"] == "not judged (smoke)"
    text = claims_markdown_file(rows)
    assert "a beats b" in format_claims(rows)
    assert "paper claims (1): 1 reproduced" in text and "setup checks (1): 1 fails" in text
    assert "## Our questions" in text and "e \\| f" in text


def test_paper_numbers_live_in_papers_only():
    """Every published number is typed once, in takdlib/papers.py: no other source file repeats one."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    numbers = set()

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, float):
            numbers.add(f"{node:.2f}")
    walk(PAPER)
    assert "73.51" in numbers and "88.98" in numbers and "91.61" in numbers and "48.92" in numbers
    sources = [p for pattern in ("takdlib/**/*.py", "notebooks/*.ipynb", "README.md", "benchmarks/*.py")
               for p in root.glob(pattern) if p.name != "papers.py"]
    for path in sources:
        text = path.read_text()
        assert not [n for n in numbers if n in text], f"{path} types a paper number"
    assert PAPER["takd_table1"]["cifar10"]["resnet"]["chain"][1] == "resnet14"  # 88.98 is the TA = resnet14 entry
    assert "secondary" in PAPER["dgkd_secondary"]["source"]


def test_every_table_the_project_writes_renders_as_a_table_whatever_its_cells_hold(tmp_path):
    """Cells with pipes (|Δ|), newlines or bold markers keep every row at the header's number of cells."""
    import mistune

    from takdlib.claims import paired
    from takdlib.report import claims_markdown, replication

    noisy = {0: 60.0, 1: 61.5, 2: 58.5, 3: 60.2}, {0: 60.1, 1: 60.0, 2: 60.3, 3: 59.9}
    rows = [dict(notebook="01", **paired("paper", "a | b\nc", "x | y", *noisy, "a|", "b", "cpu")),
            dict(notebook="02", **paired("question", "does *a* beat b?", "", *noisy, "a", "b", "cpu"))]
    assert "|Δ|" in rows[0]["power"]  # the power statement carries pipes
    parse = mistune.create_markdown(renderer="ast", plugins=["table"])
    documents = [claims_markdown_file(rows), claims_markdown(rows).data, replication(rows, rows)[0]]
    tables = [node for doc in documents for node in parse(doc) if node["type"] == "table"]
    assert len(tables) == 5  # claims.md: one per kind; the notebook's: one per kind; the replication's
    for table in tables:
        head, body = table["children"]
        width = len(head["children"])
        assert all(len(row["children"]) == width for row in body["children"])


def test_a_check_sets_each_row_of_its_seed_beside_the_committed_one():
    from takdlib.report import check

    committed = {"profile": "cpu", "table": [
        {"family": "plain", "method": "TAKD", "seed": s, "acc": a, "students": 1} for s, a in ((0, 54.0), (1, 55.0), (2, 56.0))
    ] + [{"family": "plain", "method": "NOKD", "seed": s, "acc": a, "students": 1} for s, a in ((0, 50.0), (1, 50.2))]}
    checked = {"profile": "cpu_fp32", "seeds": [0], "claims": [], "table": [
        {"family": "plain", "method": "TAKD", "seed": 0, "acc": 54.5, "students": 1},   # within sd 1.0
        {"family": "plain", "method": "NOKD", "seed": 0, "acc": 51.0, "students": 1},   # outside sd 0.14
        {"family": "plain", "method": "BLKD", "seed": 0, "acc": 52.0, "students": 1}]}  # not committed: left out
    table, within, compared = check(committed, checked)
    assert (within, compared) == (1, 2)
    assert "| table | plain, TAKD | 0 | 54.00 | 54.50 | +0.50 | 1.00 | yes |" in table
    assert "| table | plain, NOKD | 0 | 50.00 | 51.00 | +1.00 | 0.14 | no |" in table


def test_the_fp32_twin_stands_beside_each_verdict_and_its_agreement_is_counted(tmp_path):
    """A row whose fp32 twin flips is marked by the twin's own verdict; the count says how many agree; the twin's
    rows kept beside the results make claims.md so (the evidence check remakes it the same way); a twin on other
    seeds is refused, as no row of it is like its bf16 row."""
    from takdlib.claims import paired
    from takdlib.report import TWIN_FILE, claims_file_for, keep_twin, main

    up, down, flat = {0: 2.0, 1: 2.1, 2: 2.2}, {0: 1.0, 1: 1.0, 2: 1.0}, {0: 1.0, 1: 2.5, 2: 0.1}
    bf16, fp32 = tmp_path / "bf16", tmp_path / "fp32"
    for folder, second in ((bf16, up), (fp32, flat)):  # the second claim decided in bf16, undecided in fp32
        write_json({"seeds": [0, 1, 2], "claims": [paired("paper", "a beats b", "yes", up, down, "a", "b", "cpu"),
                                                   paired("paper", "c beats d", "yes", second, down, "c", "d",
                                                          "cpu")]}, folder / "01_x.json")
    assert "fp32 twin" not in claims_file_for(bf16)
    assert main([str(bf16), "--twin", str(fp32)]) == 0
    text = (bf16 / "claims.md").read_text()
    assert text == claims_file_for(bf16) and "1 of 2 rows agree" in text
    lines = [line for line in text.splitlines() if line.startswith("| 01_x")]
    assert "| **reproduced** | reproduced |" in lines[0] and "| **reproduced** | inconclusive |" in lines[1]
    assert len(claims_table(bf16)) == 2  # the twin's file is no notebook's results
    (bf16 / TWIN_FILE).unlink()
    write_json({"seeds": [5, 6, 7], "claims": []}, fp32 / "01_x.json")
    with pytest.raises(ValueError, match="a twin runs the same seeds"):
        keep_twin(bf16, fp32)


def test_the_readme_quotes_the_committed_counts():
    """After an evidence run, the README's summary must change with results/ (`python -m takdlib.report
    --readme README.md` quotes them)."""
    repo = Path(__file__).resolve().parent.parent
    counted = counts_text(claims_table(repo / "results"))
    assert " ".join(quoted((repo / "README.md").read_text(), "counts").split()) == counted, \
        f"README should say: {counted}"


def test_the_readme_counts_are_requoted_between_their_markers_and_nowhere_else(tmp_path):
    rows = [{"kind": "paper", "verdict": "reproduced"}, {"kind": "paper", "verdict": "inconclusive"}]
    readme = tmp_path / "README.md"
    readme.write_text("Counts: <!-- counts -->paper claims (9): 9 reproduced<!-- /counts -->.\npaper claims (9) stay\n")
    write_json({"claims": rows}, tmp_path / "results" / "01_gap.json")
    assert main([str(tmp_path / "results"), "--readme", str(readme)]) == 0
    assert readme.read_text() == (f"Counts: <!-- counts -->{counts_text(rows)}<!-- /counts -->.\n"
                                  "paper claims (9) stay\n")
    assert quoted(readme.read_text(), "counts") == counts_text(rows)
    with pytest.raises(ValueError, match="no <!-- counts -->"):
        with_quoted("no markers here", "counts", counts_text(rows))
    table = "| a |\n|---|\n| 1 |"  # several lines: the markers on lines of their own, the text around kept
    assert with_quoted("x <!-- t -->old<!-- /t --> y", "t", table) == f"x <!-- t -->\n{table}\n<!-- /t --> y"
    assert quoted(with_quoted("<!-- t --><!-- /t -->", "t", table), "t") == table