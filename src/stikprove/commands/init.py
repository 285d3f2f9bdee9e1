"""``stikprove init DIR``: a new study folder to start from.

DIR/protocol.toml is a shipped protocol template (``--template kommune``, ``national`` or
``odense``) with the study's id, a fresh seed and the frame's place in the folder written in,
and every value the researcher must choose left as ``"FILL IN: ..."`` (``check-protocol``
lists what is left). Beside it: frame/, worklists/ and reports/ (frame/, worklists/ and
DIR itself readable by their owner only), a README.md with the study's commands in order and
a .gitignore that keeps the frame, keys, the study store, worklists and case-level exports out
of version control. The folder appears whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path

from stikprove import packaged
from stikprove.errors import StikproveError

TEMPLATES = ("kommune", "national", "odense")
FOLDERS = ("frame", "worklists", "reports")
PRIVATE_FOLDERS = ("frame", "worklists")
FRAME = "frame/frame.csv"
STUDY = "study.sqlite"
REVIEWERS = ("overlaege_a", "overlaege_b")

GITIGNORE = """\
# Made by stikprove init. What must never reach version control: personal data.
# The register extract (pseudonymised, but still personal data):
frame/
# Pseudonymisation keys (keep them outside this folder in the first place):
*.key
keys/
# The study store (sample, assessments, notes, audit trail) and its journal files:
*.sqlite
*.sqlite-*
# Reviewers' worklists (they name case ids):
worklists/
# Case-level tables (stikprove export, estimate --format csv of a case list):
*.csv
*.xlsx
*.parquet
# ... but the published, disclosure-controlled reports may be kept:
!reports/**
.ipynb_checkpoints/
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "init",
        help="start a study folder: protocol, folders, README, .gitignore",
        description="Make a new study folder DIR: protocol.toml from a shipped template "
        "(kommune: one kommune, sex × origin; national: all 98 kommuner; odense: the Odense "
        "replication), with every value to choose marked \"FILL IN\"; the folders frame/, "
        "worklists/ and reports/; a README.md with the study's commands in order; and a "
        ".gitignore keeping frames, keys, the study store and worklists out of version "
        "control. Then run 'stikprove check-protocol DIR/protocol.toml': it lists what is "
        "left to fill in.",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="the new study folder")
    p.add_argument("--template", choices=TEMPLATES, default="kommune",
                   help="protocol template (default: kommune)")  # fmt: skip
    p.add_argument("--kommune", default=None, metavar="CODE",
                   help="with --template kommune: the kommune's code or name, e.g. 461")
    p.add_argument("--seed", type=int, default=None,
                   help="the draw's seed (default: a random one, written into the protocol)")
    p.set_defaults(func=run)


def _set(text: str, section: str, key: str, value: str) -> str:
    """``text`` with ``key``'s value in ``[section]`` replaced by ``value`` (TOML), its
    trailing comment kept; the template must hold the key once there."""
    head = re.search(rf"^\[{re.escape(section)}\][ \t]*(#.*)?$", text, flags=re.MULTILINE)
    if head is None:
        raise StikproveError(f"protocol template: expected a [{section}] section")
    end = re.search(r"^\[", text[head.end():], flags=re.MULTILINE)
    stop = head.end() + (end.start() if end else len(text[head.end():]))
    body = text[head.end():stop]
    line = re.compile(rf'^({re.escape(key)}[ \t]*=[ \t]*)("[^"\n]*"|\[[^\]\n]*\]|[^#\n]*?)'
                      r"([ \t]+#[^\n]*)?$", flags=re.MULTILINE)  # fmt: skip
    found = line.findall(body)
    if len(found) != 1:
        raise StikproveError(f"protocol template: expected one {key} = ... in [{section}]")
    def replace(match: re.Match) -> str:
        if not match.group(3):
            return f"{match.group(1)}{value}"
        # the trailing comment stays in its column
        width = len(match.group(1)) + len(match.group(2))
        return f"{match.group(1)}{value}".ljust(width) + match.group(3)

    new = line.sub(replace, body)
    return text[:head.end()] + new + text[stop:]


def _study_id(folder: Path) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", folder.name.lower()).strip("-")
    return name or "study"


def protocol_text(template: str, study_id: str, seed: int, kommune: str | None = None) -> str:
    """The protocol ``init`` writes: the template with the study id, the seed and the
    frame's place (frame/frame.csv) in, and the kommune when given."""
    from stikprove._version import __version__

    text = packaged.protocol_template(template).read_text(encoding="utf-8")
    text = _set(text, "study", "id", f'"{study_id}"')
    text = _set(text, "study", "seed", str(seed))
    text = _set(text, "frame", "path", f'"{FRAME}"')
    if kommune is not None:
        text = _set(text, "eligibility", "kommuner", f'["{kommune}"]')
    header = (f"# Written by stikprove {__version__} (stikprove init --template {template}).\n"
              "# Fill in every \"FILL IN\" value; `stikprove check-protocol protocol.toml` "
              "lists what is left.\n")  # fmt: skip
    return header + text


def readme_text(title: str, template: str, kommune: str | None) -> str:
    """The study folder's README.md: its layout and its commands in order."""
    from stikprove._version import __version__

    which = "--all --national" if template == "national" else f"--kommune {kommune or 'KODE'}"
    a, b = REVIEWERS
    return f"""# {title}

A study folder made by `stikprove init` (stikprove {__version__}, template `{template}`).

| path | holds | under version control |
|------|-------|-----------------------|
| `protocol.toml` | the study's protocol: fill in every `FILL IN` value before drawing | yes |
| `frame/` | the pseudonymised register extract, `{FRAME}` | no (.gitignore) |
| `worklists/` | the reviewers' worklists | no |
| `{STUDY}` | the study store: sample, assessments, audit trail | no |
| `reports/` | the rendered reports (disclosure-controlled) | yes |

Keep the pseudonymisation key outside this folder.

## Commands, in order

Run them in this folder.

```sh
# 1. The frame: pseudonymise the register extract (the first time: --new-key)
stikprove pseudonymize udtraek.csv {FRAME} --column cpr --key-file ~/noegler/studie.key --new-key
stikprove validate-frame {FRAME}
# 2. The protocol: fill it in, check it, read the design
stikprove check-protocol protocol.toml
stikprove design protocol.toml
stikprove design protocol.toml --explore reports/design
# 3. Draw the sample and hand out the cases
stikprove draw protocol.toml --study {STUDY}
stikprove assign {STUDY} --reviewers {a},{b}
stikprove worklist {STUDY} --reviewer {a} --out worklists/{a}.xlsx
# 4. The reviews come back (or through the web form: stikprove serve {STUDY},
#    after pip install 'stikprove[web]')
stikprove import {STUDY} worklists/{a}.xlsx --reviewer {a}
stikprove status {STUDY}
# 5. The reports
stikprove report {STUDY} {which} --out reports
```

Each command explains itself with `--help`. To change what a report shows, copy the
notebooks out (`stikprove notebooks --out notebooks`), edit them and render with
`stikprove report ... --notebook notebooks/kommune_report.ipynb`.
"""


def _title(protocol: str) -> str:
    found = re.search(r'^title[ \t]*=[ \t]*"([^"\n]*)"', protocol, flags=re.MULTILINE)
    title = found.group(1) if found else ""
    return "A stikprove study" if not title or title.upper().startswith("FILL IN") else title


def random_seed() -> int:
    """A fresh seed for the draw, 1 to 2^31 - 1, never one that reads as a CPR number (the
    protocol would refuse it: ten digits can form a valid birth date and serial)."""
    from stikprove.cpr import contains_cpr

    while True:
        seed = secrets.randbelow(2**31 - 1) + 1
        if not contains_cpr(str(seed)):
            return seed


def init_study(folder: str | Path, template: str = "kommune", *, kommune: str | None = None,
               seed: int | None = None) -> Path:  # fmt: skip
    """Make the study folder ``folder`` (see the module docstring); returns its path.
    ``folder`` must be new or empty; nothing is written when anything is refused."""
    from stikprove.files import private_folder
    from stikprove.kommuner import kommune as look_up

    folder = Path(folder)
    if template not in TEMPLATES:
        raise StikproveError(f"--template must be one of {', '.join(TEMPLATES)}; got {template!r}")
    if kommune is not None and template != "kommune":
        raise StikproveError(
            f"--kommune {kommune}: only with --template kommune (the {template} template "
            "names its kommuner itself)"
        )
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StikproveError(
            f"{folder}: exists and is not an empty folder; expected a new study folder"
        )
    code = look_up(kommune).code if kommune is not None else None
    if seed is None:
        seed = random_seed()
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise StikproveError(f"--seed must be a whole number ≥ 0; got {seed!r}")
    protocol = protocol_text(template, _study_id(folder.resolve()), seed, code)
    files = {"protocol.toml": protocol, "README.md": readme_text(_title(protocol), template, code),
             ".gitignore": GITIGNORE}  # fmt: skip
    parent = folder.resolve().parent
    private_folder(parent)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name}.tmp-"))
    try:
        for name in FOLDERS:
            (tmp / name).mkdir(mode=0o700 if name in PRIVATE_FOLDERS else 0o755)
        for name in PRIVATE_FOLDERS:
            os.chmod(tmp / name, 0o700)
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        if folder.exists():
            folder.rmdir()
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def run(args: argparse.Namespace) -> int:
    folder = init_study(args.folder, args.template, kommune=args.kommune, seed=args.seed)
    print(f"study folder {folder} made from the {args.template} template:")
    for name in ("protocol.toml", "README.md", ".gitignore", *(f"{f}/" for f in FOLDERS)):
        print(f"  {folder / name}")
    print(f"next: fill in what 'stikprove check-protocol {folder / 'protocol.toml'}' lists, "
          f"and put the frame at {folder / FRAME} (see {folder / 'README.md'})")  # fmt: skip
    return 0
