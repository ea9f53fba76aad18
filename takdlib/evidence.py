"""Evidence that carries its own checksums: a run's manifest records the sha256 of every file under results/
and figures/ (the executed notebooks under results/notebooks/ included), so a hand edit, a truncated file or a
file added or lost afterwards is found by `python -m takdlib.evidence`, which also remakes claims.md from the
results files and compares."""
from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from .files import hash_into, quote_in, write_json
from .locations import REPO_ROOT
from .machine import manifest_summary
from .report import claims_file_for

EVIDENCE_DIRS = ("results", "figures")
MANIFEST = Path("results") / "manifest.json"  # records the checksums, so it is not among them


def fingerprints(root: Path) -> dict[str, str]:
    """{path under root: sha256} of every evidence file under root (its results/ and figures/)."""
    out = {}
    for folder in EVIDENCE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if path.is_file() and relative != MANIFEST:
                digest = hashlib.sha256()
                hash_into(digest, path)
                out[relative.as_posix()] = digest.hexdigest()
    return out


def seal(root: Path) -> dict[str, str]:
    """Record the evidence files' checksums, as they are now, in root/results/manifest.json ("files")."""
    path = root / MANIFEST
    manifest = json.loads(path.read_text()) if path.exists() else {"runs": []}
    manifest["files"] = fingerprints(root)
    write_json(manifest, path)
    return manifest["files"]


def verify(root: Path) -> list[str]:
    """Every way the evidence under root differs from what its manifest records, one line each, each naming
    the file: changed, missing, not recorded, unreadable; and claims.md unlike what the results make. Empty
    when it verifies."""
    path = root / MANIFEST
    try:
        recorded = json.loads(path.read_text())["files"]
    except (OSError, ValueError, KeyError) as err:
        return [f"{path}: no checksums to verify against ({type(err).__name__}: {err})"]
    problems = []
    now = fingerprints(root)
    for name, digest in recorded.items():
        if name not in now:
            problems.append(f"{root / name}: recorded in the manifest, missing")
        elif now[name] != digest:
            problems.append(f"{root / name}: its content differs from the checksum the manifest records")
    problems += [f"{root / name}: not recorded in the manifest" for name in now if name not in recorded]
    claims = root / "results" / "claims.md"
    try:
        if claims.read_text() != claims_file_for(root / "results"):
            problems.append(f"{claims}: differs from the claims table its results files make")
    except (OSError, ValueError) as err:  # a results file that cannot be parsed is named in the error
        problems.append(str(err))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a run's evidence against the checksums its manifest "
                                                 "records, and claims.md against its results; or --seal it.")
    parser.add_argument("root", nargs="?", default=None,
                        help="the folder holding results/ and figures/ (default: the repository's, the evidence)")
    parser.add_argument("--seal", action="store_true",
                        help="record the checksums of the evidence files as they are now in the manifest")
    parser.add_argument("--readme", metavar="PATH", help="quote what made the evidence (its manifest's runs) in "
                        "this README, between its <!-- run --> and <!-- /run -->")
    args = parser.parse_args(argv)
    root = Path(args.root) if args.root else REPO_ROOT
    if args.readme:
        summary = manifest_summary(json.loads((root / MANIFEST).read_text()))
        quote_in(args.readme, "run", summary)
        print(f"{args.readme} quotes: {summary}")
        return 0
    if args.seal:
        print(f"sealed {len(seal(root))} files in {root / MANIFEST}")
        return 0
    problems = verify(root)
    print("\n".join(problems) if problems else f"the evidence under {root} verifies: every file as its manifest "
                                                "records, claims.md as its results make it")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
