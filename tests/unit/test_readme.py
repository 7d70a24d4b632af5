"""The README's two commands and CI stay in step."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def test_readme_gives_two_commands_and_ci_runs_the_test_one():
    readme = read("README.md")
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert len(commands) == 2
    assert commands[0].endswith("raymaker quickstart")
    ci = read(".ci", "run")
    test_command = re.search(r"TEST_COMMAND='(.*)'", ci).group(1)
    assert commands[1] == test_command
    assert 'eval "$TEST_COMMAND"' in ci
