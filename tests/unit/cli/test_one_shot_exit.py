"""A one-shot command ends its process right after its answer, but never a program that runs it in-process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scenebridge.cli import output

pytestmark = pytest.mark.unit


def test_inside_another_program_it_returns():
    assert output.PROCESS_ENTRY is False
    output.finish_one_shot()  # returns: pytest goes on


def test_as_its_own_process_the_answer_is_out_before_the_process_ends():
    code = (
        "import atexit, sys\n"
        "from scenebridge.cli import output\n"
        "atexit.register(lambda: print('teardown ran', file=sys.stderr))\n"
        "output.PROCESS_ENTRY = True\n"
        "print('the answer', end='')\n"
        "output.finish_one_shot()\n"
        "print('after', file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "the answer", "")
