"""`--help` of every tool: its usage and flags on stdout, exit 0 (it was a one-line error:
the flags were parsed before absl defined --help)."""

from tests.tools.conftest import error_lines, start_tool

TOOLS = {"train": "--model", "sample": "--num", "evaluate": "--num_samples", "export": "--export_base",
         "presets": "--name"}


def test_every_tool_answers_help_with_its_flags():
    procs = {tool: start_tool(tool, "--help") for tool in TOOLS}
    for tool, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (tool, err[-500:])
        assert f"python -m genzoo.tools.{tool}" in out, (tool, out[:300])  # the module's docstring
        assert f"  {TOOLS[tool]}:" in out, (tool, out[:500])
        assert not [line for line in error_lines(err) if "genzoo" in line], (tool, err[-500:])
