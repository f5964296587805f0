"""README.md's "Try it" block, run: every curl command in order against a live gateway
(the README's 127.0.0.1:8080 swapped for the test's port), each answered with the status
its trailing comment names; and together they cover every operation in openapi.yaml."""

import re
import shlex
import subprocess
import urllib.parse

import yaml

from conftest import ROOT


def try_it_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("\n```", 1)[0]


def scan(line: str, quote):
    """(code, comment, quote open at the end) of one line that starts inside `quote`
    (or outside any): a '#' outside quotes after a space starts a comment."""
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i], line[i + 1:], None
    return line, "", quote


def commands():
    """(command text, expected status) for each curl command, continuations and
    multi-line quoted bodies joined."""
    found, pending, quote = [], "", None
    for line in try_it_block().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        code, comment, quote = scan(line, quote)
        pending += code + "\n"
        if quote is None and not code.rstrip().endswith("\\"):
            status = re.match(r"\s*(\d{3})\b", comment)
            assert status, f"no expected status in the comment of: {pending.strip()}"
            found.append((pending.replace("\\\n", " ").strip(), int(status.group(1))))
            pending = ""
    assert not pending, f"unterminated command: {pending}"
    return found


def operation_of(argv):
    method, url = "GET", None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-X":
            method, i = argv[i + 1], i + 1
        elif arg == "-I":
            method = "HEAD"
        elif arg in ("-d", "--data"):
            method = "POST" if method == "GET" else method
            i += 1
        elif arg == "-H":
            i += 1
        elif arg.startswith("http"):
            url = arg
        i += 1
    return method, urllib.parse.urlsplit(url).path


def spec_operations():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    verbs = {"get", "head", "post", "put", "patch", "delete"}
    return {(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in verbs}


def template_of(path, templates):
    for template in templates:
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            return template
    return None


def test_readme_curl_examples_cover_every_operation_and_answer_as_documented(live, tmp_path):
    examples = commands()
    assert len(examples) >= 20
    templates = sorted({path for _, path in spec_operations()}, key=len, reverse=True)
    covered = set()
    for text, expected in examples:
        argv = shlex.split(text)
        assert argv[0] == "curl", text
        argv = [a.replace("http://127.0.0.1:8080", live.base_url) for a in argv]
        method, path = operation_of(argv)
        template = template_of(path, templates)
        assert template, f"{path} is not a path of openapi.yaml: {text}"
        covered.add((method, template))
        body = tmp_path / "body"
        done = subprocess.run(argv + ["-sS", "--max-time", "20", "-o", str(body), "-w", "%{http_code}"],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, f"curl failed ({done.stderr.strip()}): {text}"
        assert int(done.stdout[-3:]) == expected, f"got {done.stdout[-3:]}, README says {expected}: {text}\n" + \
            body.read_text(errors="replace")[:500]
    missing = spec_operations() - covered
    assert not missing, f"operations with no curl example in README.md: {sorted(missing)}"
