"""`limits report`: the paper, checked, as a static site under build/site/.

The site joins what the other commands wrote: the verify report (build/verify/report.json with
its SMT-LIB files), the statements of proofs/, the crosscheck's measurements and plots
(results/), the counterexample prompts, the benchmark and the reliability figures. One page per
statement of the paper, an index with the graph of which statement uses which, coloured by
verdict, and pages for the benchmarks, the reliability figures and the crosscheck. Every link is
relative: the folder can be opened from disk, copied, or served (`limits report --serve`).
"""
from __future__ import annotations

import argparse
import html
import json
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PARTS = [("H", "Hallucination", "section 2"), ("C", "Context compression", "section 3"),
         ("R", "Reasoning degradation", "section 4"), ("Rt", "Retrieval fragility", "section 5"),
         ("M", "Multimodal misalignment", "section 6"), ("O", "Open questions", "section 8")]
STATUS_WORDS = {
    "proved": "proved for all parameter values",
    "verified": "verified on stated finite ranges",
    "corrected": "refuted as stated, with a corrected form that holds",
    "open": "not decided as the statement expects",
    "not stated": "no statement in proofs/",
}
MODELS = [("smollm2", "SmolLM2-135M"), ("gemma3", "Gemma 3 270M"), ("trained-here", "trained here")]


class ReportError(Exception):
    """Something the site is built from is missing."""


@dataclass
class Statement:
    """One statement of the paper with everything the project knows about it."""
    id: str
    name: str
    part: str
    theorems: list = field(default_factory=list)      # dicts: id, title, refs, source, file, line, uses
    checks: list = field(default_factory=list)        # report.json records
    necessity: list = field(default_factory=list)
    tightness: list = field(default_factory=list)
    measurements: list = field(default_factory=list)  # crosscheck verdicts with plots
    counterexamples: list = field(default_factory=list)
    uses: list = field(default_factory=list)          # paper ids this statement builds on

    @property
    def status(self) -> str:
        if not self.checks:
            return "not stated"
        if not all(c["as_expected"] for c in self.checks):
            return "open"
        # The paper's claim as stated, refuted: a theorem titled "WRONG ..." that must come out
        # refuted, other than a deliberate misreading ("WRONG on purpose", kept to show the
        # checker tells them apart); the statement's other theorems are its corrected forms.
        if any(c["expected"] == "refuted" and c["title"].startswith("WRONG")
               and not c["title"].startswith("WRONG on purpose") for c in self.checks):
            return "corrected"
        if any(c["status"] == "proved" for c in self.checks):
            return "proved"
        return "verified"

    @property
    def measured(self) -> str:
        """The strongest measured verdict: violated, consistent, inconclusive, or ''."""
        words = {m["verdict"] for m in self.measurements}
        for word in ("violated", "consistent", "inconclusive"):
            if word in words:
                return word
        return ""


def paper_id(theorem_id: str) -> str:
    return theorem_id.split(".")[0]


def part_of(pid: str) -> str:
    return pid.split("-")[0]


def gather(root: Path, report_path: Path) -> tuple[list[Statement], dict]:
    """Every statement of the paper with its theorems, checks, analyses and measurements."""
    from checker.api import load_files
    from checker.language.elaborate import PAPER_IDS_FILE
    from checker.reports.catalogue import load_measurements
    if not report_path.exists():
        raise ReportError(f"{report_path} is missing: run `make verify` (or `limits verify`) first")
    report = json.loads(report_path.read_text())
    names = {}
    for line in PAPER_IDS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pid, _, name = line.partition(" ")
            names[pid] = name.strip()
    statements = {pid: Statement(pid, name, part_of(pid)) for pid, name in names.items()}
    files = sorted((root / "proofs").glob("*.lim"))
    texts = {str(f): f.read_text(encoding="utf-8").splitlines() for f in files}
    for t in load_files(files):
        s = statements.get(paper_id(t.id))
        if s is None:
            continue
        lines = texts[t.span.file]
        source = "\n".join(lines[t.span.line - 1:(t.span.end_line or t.span.line)])
        uses = [name for name, _ in t.uses]
        s.theorems.append({"id": t.id, "title": t.title, "refs": list(t.refs), "source": source,
                           "file": Path(t.span.file).relative_to(root).as_posix(), "line": t.span.line,
                           "uses": uses})
        for name in uses:
            if paper_id(name) != s.id and paper_id(name) not in s.uses:
                s.uses.append(paper_id(name))
    for c in report.get("checks", []):
        if paper_id(c["id"]) in statements:
            statements[paper_id(c["id"])].checks.append(c)
    for row in report.get("necessity", []):
        if paper_id(row["id"]) in statements:
            statements[paper_id(row["id"])].necessity.append(row)
    for row in report.get("tightness", []):
        if paper_id(row["id"]) in statements:
            statements[paper_id(row["id"])].tightness.append(row)
    for m in load_measurements(root / "results"):
        if paper_id(m["theorem"]) in statements:
            statements[paper_id(m["theorem"])].measurements.append(m)
    ce = root / "results" / "counterexamples" / "counterexamples.jsonl"
    if ce.exists():
        for line in ce.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if paper_id(r.get("theorem", "")) in statements:
                    statements[paper_id(r["theorem"])].counterexamples.append(r)
    return list(statements.values()), report


# ---- the graph ------------------------------------------------------------------------------

COLOURS = {"proved": "#2e7d32", "verified": "#66bb6a", "corrected": "#f9a825", "open": "#c62828",
           "not stated": "#9e9e9e"}
MEASURED = {"consistent": "#1565c0", "violated": "#ad1457", "inconclusive": "#bdbdbd"}


def graph_svg(statements: list[Statement]) -> str:
    """The paper as a graph: a column per part, a node per statement coloured by its verdict
    (with a dot for its strongest measured verdict), an arrow from each statement to those it uses."""
    width, height = 150, 44
    gap_x, gap_y, top = 30, 14, 40
    pos: dict[str, tuple[int, int]] = {}
    columns = [[s for s in statements if s.part == key] for key, _, _ in PARTS]
    for col, members in enumerate(columns):
        for row, s in enumerate(members):
            pos[s.id] = (20 + col * (width + gap_x), top + row * (height + gap_y))
    total_w = 20 + len(PARTS) * (width + gap_x)
    total_h = top + max(len(c) for c in columns) * (height + gap_y) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" viewBox="0 0 {total_w} {total_h}" '
           f'width="{total_w}" height="{total_h}" role="img" aria-label="statements of the paper and their uses">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#455a64"/></marker></defs>']
    for col, (_, title, section) in enumerate(PARTS):
        x = 20 + col * (width + gap_x)
        short = title if len(title) <= 20 else title.split()[0]
        out.append(f'<text x="{x}" y="20" class="part"><title>{html.escape(title)}</title>{html.escape(short)}</text>'
                   f'<text x="{x}" y="33" class="section">{section}</text>')
    for s in statements:
        for used in s.uses:
            if used in pos:
                (x1, y1), (x2, y2) = pos[s.id], pos[used]
                if x1 == x2:   # within a column: a bow on the right
                    sx, sy, ex, ey = x1 + width, y1 + height / 2, x2 + width, y2 + height / 2
                    out.append(f'<path class="edge" data-from="{s.id}" data-to="{used}" d="M {sx} {sy} '
                               f'C {sx + 25} {sy}, {ex + 25} {ey}, {ex + 2} {ey}" marker-end="url(#arrow)"/>')
                else:
                    sx = x1 if x2 < x1 else x1 + width
                    ex = x2 + width if x2 < x1 else x2
                    out.append(f'<path class="edge" data-from="{s.id}" data-to="{used}" d="M {sx} '
                               f'{y1 + height / 2} L {ex} {y2 + height / 2}" marker-end="url(#arrow)"/>')
    for s in statements:
        x, y = pos[s.id]
        label = s.name if len(s.name) <= 24 else s.name[:22] + "…"
        dot = (f'<circle cx="{x + width - 10}" cy="{y + 10}" r="5" fill="{MEASURED[s.measured]}">'
               f'<title>measured: {s.measured}</title></circle>') if s.measured else ""
        out.append(f'<a href="s/{s.id}.html" class="node" data-id="{s.id}" data-status="{s.status}">'
                   f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="6" fill="{COLOURS[s.status]}"/>'
                   f'<text x="{x + 8}" y="{y + 18}" class="id">{s.id}</text>'
                   f'<text x="{x + 8}" y="{y + 34}" class="name">{html.escape(label)}</text>{dot}'
                   f'<title>{s.id} {html.escape(s.name)}: {STATUS_WORDS[s.status]}</title></a>')
    out.append("</svg>")
    return "\n".join(out)


# ---- pages ----------------------------------------------------------------------------------

def _environment(templates: Path):
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = _markdown
    return env


def _markdown(text: str):
    from markdown_it import MarkdownIt
    from markupsafe import Markup
    return Markup(MarkdownIt("commonmark").enable("table").render(text))  # noqa: S704 - our own files


def _copy(src: Path, site: Path, rel: str) -> str | None:
    """Copy a file into the site; its path relative to the site's root, or None when it is missing."""
    if not src.exists():
        return None
    dest = site / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return rel


def build(root: Path, out: Path, report_path: Path | None = None) -> dict:
    """Write the site; returns what it wrote (pages, images, query files)."""
    report_path = report_path or root / "build" / "verify" / "report.json"
    statements, report = gather(root, report_path)
    env = _environment(Path(__file__).resolve().parent / "templates")
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "s").mkdir(parents=True)
    written: dict = {"pages": [], "images": 0, "smt2": 0}
    shutil.copyfile(Path(__file__).resolve().parent / "templates" / "site.css", tmp / "site.css")

    # the cvc5 answer of each query file (report.json lists the disagreements and unknowns)
    second = report.get("second_solver") or {}
    cvc5 = {e["file"]: e for e in second.get("unknowns", []) + second.get("disagreements", [])}
    by_model: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for s in statements:
        for c in s.checks:
            queries = []
            for raw in c.get("smt2") or []:
                src = Path(raw) if Path(raw).is_absolute() else root / raw
                rel = _copy(src, tmp, "smt2/" + "/".join(Path(raw).parts[-2:]))
                if rel:
                    written["smt2"] += 1
                entry = cvc5.get(raw) or cvc5.get(str(src))
                answer = ("cvc5 " + entry["cvc5"] + (f" (z3 {entry['z3']})" if entry.get("z3") else "")) if entry \
                    else ("cvc5 agrees" if second else "not re-checked")
                queries.append({"href": f"../{rel}" if rel else None, "name": Path(raw).name, "answer": answer})
            c["queries"] = queries
        for m in s.measurements:
            m["images"] = []
            for plot in m.get("plots", []):
                rel_in_root = plot.removeprefix("../")
                rel = _copy(root / rel_in_root, tmp, "img/" + "/".join(Path(rel_in_root).parts[-3:]))
                if rel:
                    written["images"] += 1
                    m["images"].append({"src": f"../{rel}", "alt": f"{m['probe']} on {m['model']}: "
                                        f"{Path(rel).stem.replace('_', ' ')}"})
            by_model[s.id][m["model"]].append(m["verdict"])
    counts: dict[str, int] = defaultdict(int)
    for s in statements:
        counts[s.status] += 1

    def page(name: str, template: str, **data):
        (tmp / name).write_text(env.get_template(template).render(**data), encoding="utf-8")
        written["pages"].append(name)

    page("index.html", "index.html", statements=statements, parts=PARTS, graph=graph_svg(statements),
         colours=COLOURS, measured_colours=MEASURED, status_words=STATUS_WORDS, counts=dict(counts),
         models=MODELS, by_model=by_model, summary=report.get("summary", {}), root="")
    for s in statements:
        page(f"s/{s.id}.html", "statement.html", s=s, parts=dict((k, t) for k, t, _ in PARTS),
             status_words=STATUS_WORDS, colours=COLOURS, root="../",
             known={x.id for x in statements})
    page("crosscheck.html", "document.html", title="Crosscheck", root="",
         body=_read(root / "results" / "CROSSCHECK.md", "no crosscheck has run (`limits crosscheck`)"))
    page("bench.html", "document.html", title="Benchmarks", root="", body=_bench(root))
    page("reliability.html", "document.html", title="Reliability", root="", body=_reliability(root))
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return written


def _read(path: Path, missing: str) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else f"*{missing}*"


def _bench(root: Path) -> str:
    path = root / "bench" / "results.json"
    if not path.exists():
        return "*no benchmark has run (`limits bench`)*"
    from bench.report import markdown
    text, _ = markdown(json.loads(path.read_text()))
    return text


def _reliability(root: Path) -> str:
    path = root / "results" / "reliability.json"
    if not path.exists():
        return "*no reliability run (`limits reliability`)*"
    from checker.reports.figures import reliability_block
    summary = json.loads(path.read_text())
    return ("# Reliability\n\nFrom `results/reliability.json`, written by `limits reliability`; "
            "how each figure is measured: `docs/RELIABILITY.md`.\n\n" + reliability_block(summary))


# ---- command line ---------------------------------------------------------------------------

def register(sub) -> None:
    p = sub.add_parser("report", help="the paper, checked, as a static site (build/site)")
    p.add_argument("--out", default=None, metavar="DIR", help="where to write the site (default build/site)")
    p.add_argument("--report", default=None, metavar="FILE",
                   help="the verify report to read (default build/verify/report.json)")
    p.add_argument("--serve", type=int, nargs="?", const=8000, default=None, metavar="PORT",
                   help="then serve the site on localhost (default port 8000) until interrupted")
    p.set_defaults(run=run)


def run(args) -> int:
    from checker.paths import build as build_folder
    from checker.paths import project_root, shown
    root = project_root()
    out = Path(args.out) if args.out else build_folder() / "site"
    try:
        written = build(root, out, Path(args.report) if args.report else None)
    except ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"site: {shown(out / 'index.html')} ({len(written['pages'])} pages, {written['images']} plots, "
          f"{written['smt2']} SMT-LIB files)")
    if args.serve is not None:
        import functools
        import http.server
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
        with http.server.ThreadingHTTPServer(("127.0.0.1", args.serve), handler) as server:
            print(f"serving on http://127.0.0.1:{args.serve}/ (Ctrl-C stops)")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="limits")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", *(argv or [])])
    return args.run(args)
