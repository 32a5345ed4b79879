"""Scripted conversation tests: YAML scripts of turns with expectations, replayed against the real turn."""

from scenebridge.script.checks import Failure
from scenebridge.script.model import Expect, Script, SummaryExpect, Turn, load_script
from scenebridge.script.runner import ScriptReport, ScriptRunner, assert_script, run_script, run_scripts

__all__ = [
    "Expect",
    "Failure",
    "Script",
    "ScriptReport",
    "ScriptRunner",
    "SummaryExpect",
    "Turn",
    "assert_script",
    "load_script",
    "run_script",
    "run_scripts",
]
