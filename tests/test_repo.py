"""Promises of the repository itself: CI runs the README's test command, imports stay light."""
import configparser
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_commands():
    text = open(os.path.join(ROOT, "README.md")).read()
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", quick, flags=re.S)


def test_readme_has_two_commands_and_ci_runs_the_test_one_verbatim():
    cmds = readme_commands()
    assert len(cmds) == 2 and "cli.py run" in cmds[0] and "pytest" in cmds[1]
    ci = open(os.path.join(ROOT, ".ci", "run")).read().splitlines()
    assert cmds[1] in ci


def test_runtime_dependencies_are_numpy_and_click_only():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    deps = [d.strip() for d in cfg["options"]["install_requires"].strip().splitlines()]
    assert sorted(re.split(r"[<>=! ]", d)[0] for d in deps) == ["click", "numpy"]


def test_cupy_is_imported_only_in_its_backend_and_no_framework_anywhere():
    for top in ("icr_np", "backends", "cli.py"):
        path = os.path.join(ROOT, top)
        files = [path] if path.endswith(".py") else [os.path.join(d, f) for d, _, fs in os.walk(path)
                                                      for f in fs if f.endswith(".py")]
        for f in files:
            src = open(f).read()
            assert not re.search(r"^\s*(import|from)\s+(torch|jax|tensorflow)\b", src, re.M), f
            if not f.endswith("cupy_backend.py"):
                assert not re.search(r"^\s*(import|from)\s+cupy", src, re.M), f
