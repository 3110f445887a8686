"""test_docs.py - the documentation stays true to the code and to the repository.

- every key of the table in src/config.c is described in docs/mailroom.conf.5 under
  its section, with its default in the brackets that end its entry, and the man
  page describes no key the table lacks;
- every command of the usage text in src/main.c is named in the COMMANDS section of
  docs/mailroom.8;
- docs/mailroom.conf.example names only real keys, and `mailroom config check`
  accepts it;
- every relative link in README.md and docs/*.md resolves to a file of the
  repository (and to a heading, for a #fragment), none leaves the repository, and
  none of them points at the project's working notes, which a clone does not have.

No server is started; only the last part of the example check runs the binary.
"""
import os
import re
import subprocess

import pytest

from conftest import BIN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(ROOT, "docs")

# Links to files another branch is writing right now. Each must not exist yet:
# once it does, the entry has done its job and must go (the test says so).
PENDING = set()


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


# ---- the config table ----

def config_table(text=None):
    """[(section, key, default or None)] in the order of src/config.c's options[]."""
    text = read("src/config.c") if text is None else text
    start = text.index("static const struct option options[] = {")
    end = text.index("\n};", start)
    rows = re.findall(r'\{\s*"(\w+)",\s*"(\w+)",\s*(NULL|"[^"]*")', text[start:end])
    assert len(rows) > 40, "cannot read the options[] table of src/config.c"
    return [(s, k, None if d == "NULL" else d[1:-1]) for s, k, d in rows]


# ---- troff, as far as the man pages use it ----

def troff_text(line):
    """The words a troff line shows: macro names, font changes and quotes removed."""
    line = re.sub(r"^\.(B|I|R|BR|BI|IB|IR|RB|RI|SM)\s+", "", line)
    if line.startswith("."):
        return ""
    line = re.sub(r"\\f[BIRP]", "", line)
    line = line.replace("\\-", "-").replace("\\(en", "-").replace("\\(em", "-")
    line = line.replace("\\(dq", '"').replace("\\&", "").replace("\\ ", " ")
    return line.replace('"', "")


def man_entries(text):
    """[(section or None, tag text, body text)] of each .TP entry, by .SS/.SH section."""
    entries, section, tag, body, state = [], None, None, [], None
    for raw in text.splitlines():
        if raw.startswith((".SS", ".SH", ".TP")):
            if tag is not None:
                entries.append((section, tag, " ".join(body)))
            tag, body = None, []
            if raw.startswith(".SS"):
                m = re.match(r"\.SS\s+\[(\w+)\]", raw)
                section = m.group(1) if m else None
            elif raw.startswith(".SH"):
                section = None
            state = "tag" if raw.startswith(".TP") else None
            continue
        if state == "tag":
            tag, state = troff_text(raw), "body"
        elif state == "body":
            body.append(troff_text(raw))
    if tag is not None:
        entries.append((section, tag, " ".join(body)))
    return entries


def key_entries(text):
    """{(section, key): (keys of its entry, the default's text)} from mailroom.conf.5."""
    out = {}
    for section, tag, body in man_entries(text):
        if section is None:
            continue
        keys = [k for k in re.split(r"[,\s]+", tag) if k]
        assert all(re.fullmatch(r"[a-z0-9_]+", k) for k in keys), \
            f"[{section}] entry {tag!r}: its tag line must name keys only"
        m = re.search(r"\[([^\[\]]*)\]\s*\.?\s*$", body.strip())
        default = m.group(1) if m else None
        for k in keys:
            out[(section, k)] = (keys, default)
    return out


def default_matches(want, shown):
    """Whether the text shown in the brackets states the default want."""
    shown = " ".join(shown.split())
    if want is None:
        return "host name" in shown  # computed: the system host name
    if want == "":
        return re.match(r"(none|off)\b", shown) is not None
    return shown == want or shown.startswith(want + ":") or shown.startswith(want + " ")


def key_problems(table, man):
    entries = key_entries(man)
    problems = []
    for section, key, want in table:
        if (section, key) not in entries:
            problems.append(f"[{section}] {key}: not described in docs/mailroom.conf.5")
            continue
        keys, shown = entries[(section, key)]
        if shown is None:
            problems.append(f"[{section}] {key}: its entry does not end with [default]")
            continue
        items = [shown] if len(keys) == 1 else [i.strip() for i in shown.split(",")]
        if len(items) != len(keys):
            problems.append(f"[{section}] {', '.join(keys)}: [{shown}] does not give one "
                            f"default for each key")
            continue
        got = items[keys.index(key)]
        if not default_matches(want, got):
            problems.append(f"[{section}] {key}: the man page says [{got}], src/config.c "
                            f"says {want!r}")
    known = {(s, k) for s, k, _ in table}
    for section, key in sorted(entries):
        if (section, key) not in known:
            problems.append(f"[{section}] {key}: in docs/mailroom.conf.5 but not a key")
    return problems


def test_every_config_key_is_in_the_man_page_with_its_default():
    problems = key_problems(config_table(), read("docs/mailroom.conf.5"))
    assert not problems, "\n".join(problems)


def test_a_missing_key_or_a_wrong_default_is_found():
    """The check above can fail: a key taken out of the page, a default changed."""
    table, man = config_table(), read("docs/mailroom.conf.5")
    assert not key_problems(table, man)
    without = re.sub(r"\.TP\n\.B max_hops\n", ".TP\n.B max_hopz\n", man)
    assert without != man
    found = key_problems(table, without)
    assert any("max_hops: not described" in p for p in found), found
    assert any("max_hopz: in docs/mailroom.conf.5 but not a key" in p for p in found), found
    changed = [(s, k, "99" if k == "max_recipients" else d) for s, k, d in table]
    found = key_problems(changed, man)
    assert any("max_recipients: the man page says [100]" in p for p in found), found


# ---- the commands ----

def usage_commands():
    """The commands of main.c's usage text: their leading lower-case words."""
    text = read("src/main.c")
    start = text.index("usage_text[] =")
    body = text[start:text.index("\";\n", start) + 1]
    usage = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))
    usage = usage.replace("\\n", "\n").replace('" CONFIG_DEFAULT_PATH "', "")
    lines = usage.split("commands:\n", 1)[1].splitlines()
    cmds = []
    for line in lines:
        if not line.startswith("  ") or line.startswith(" " * 8):
            continue  # a description carried to the next line
        synopsis = re.split(r"\s{2,}", line.strip())[0]
        for alt in synopsis.split(" | "):
            words = []
            for w in alt.split():
                if not re.fullmatch(r"[a-z][a-z0-9-]*", w):
                    break
                words.append(w)
            if words:
                cmds.append(" ".join(words))
    assert len(cmds) > 30, f"cannot read the usage text of src/main.c: {cmds}"
    return cmds


def man_commands_text(man):
    start = man.index(".SH COMMANDS")
    end = man.index("\n.SH ", start + 1)
    return " ".join(tag for _, tag, _ in man_entries(man[start:end]))


def test_every_command_of_the_usage_is_in_mailroom_8():
    tags = man_commands_text(read("docs/mailroom.8"))
    missing = [c for c in usage_commands()
               if not re.search(r"(^|[\s,])" + re.escape(c) + r"\b", tags)]
    assert not missing, f"commands without an entry in docs/mailroom.8: {missing}"


# ---- the example config ----

def test_the_example_config_names_real_keys_only():
    known = {(s, k) for s, k, _ in config_table()}
    section, bad = None, []
    for n, line in enumerate(read("docs/mailroom.conf.example").splitlines(), 1):
        line = line.split(";", 1)[0].strip()
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
        elif "=" in line:
            key = line.split("=", 1)[0].strip()
            if (section, key) not in known:
                bad.append(f"line {n}: [{section}] {key}")
    assert not bad, bad


def test_the_example_config_passes_config_check(tmp_path):
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"no binary at {BIN}")
    # config check reads the [tls] files as serve would: the example's, made here.
    text = read("docs/mailroom.conf.example")
    for key, path in (("cert", "/etc/mailroom/cert.pem"), ("key", "/etc/mailroom/key.pem")):
        assert re.search(rf"^{key} = {re.escape(path)}\b", text, re.M), key
        text = text.replace(path, str(tmp_path / os.path.basename(path)))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem"), "-days", "2", "-subj",
                    "/CN=mx.example.com", "-addext", "subjectAltName=DNS:mx.example.com"],
                   check=True, capture_output=True, timeout=60)
    path = tmp_path / "mailroom.conf"
    path.write_text(text)
    p = subprocess.run([BIN, "-c", str(path), "config", "check"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{path}: ok\n", p.stdout


# ---- links ----

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)",
                  re.MULTILINE)


def markdown_files():
    files = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(DOCS)
                                   if f.endswith(".md"))
    return [f for f in files if os.path.exists(os.path.join(ROOT, f))]


def slug(heading):
    """The anchor a Markdown renderer such as GitHub's gives a heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(rel):
    text = re.sub(r"```.*?```", "", read(rel), flags=re.DOTALL)
    return {slug(h) for h in re.findall(r"^#+\s+(.*?)\s*#*$", text, re.MULTILINE)}


def link_problems(rel, text):
    problems = []
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    text = re.sub(r"`[^`\n]*`", "", text)
    for m in LINK.finditer(text):
        target = m.group(1) or m.group(2)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # a URL (https:, mailto:)
        path, _, frag = target.partition("#")
        if path.startswith("/"):
            problems.append(f"{rel}: {target}: an absolute path")
            continue
        dest = os.path.normpath(os.path.join(os.path.dirname(rel), path)) if path else rel
        if dest == ".." or dest.startswith("../"):
            problems.append(f"{rel}: {target}: outside the repository")
            continue
        if dest in PENDING:
            assert not os.path.exists(os.path.join(ROOT, dest)), \
                f"{dest} exists now: take it out of PENDING in test_docs.py"
            continue
        if not os.path.exists(os.path.join(ROOT, dest)):
            problems.append(f"{rel}: {target}: no such file")
            continue
        if frag and dest.endswith(".md") and frag not in anchors(dest):
            problems.append(f"{rel}: {target}: no heading #{frag} in {dest}")
    return problems


def test_links_resolve_inside_the_repository():
    problems = []
    for rel in markdown_files():
        problems += link_problems(rel, read(rel))
    assert not problems, "\n".join(problems)


def test_a_broken_link_is_found():
    found = link_problems("README.md", "[a](docs/nothing.md) [b](../shared/INTERFACE.md) "
                          "[c](docs/design.md#no-such-heading) [d](/etc/passwd) "
                          "[e](docs/design.md)")
    assert len(found) == 4, found


def test_the_docs_do_not_send_readers_to_working_notes():
    """INTERFACE.md and DESIGN.md are the project's notes, not files of a clone."""
    for rel in markdown_files() + ["docs/mailroom.8", "docs/mailroom.conf.5"]:
        text = read(rel)
        for name in ("INTERFACE.md", "DESIGN.md", "STYLE.md", "shared/"):
            assert name not in text, f"{rel} names {name}, which a clone does not have"
