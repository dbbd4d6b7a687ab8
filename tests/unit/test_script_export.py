"""workflow/code's script: valid Python that calls session.execute with each action's fields."""

from __future__ import annotations

import ast

from browserfn.browser.script_export import python_script

ACTIONS = [
    {"type": "goto", "url": "https://example.org/?q='x'"},
    {"type": "fill", "selector": {"css_selector": "#a", "xpath_selector": None}, "value": 'say "hi"\n'},
    {"type": "upload_file", "selector": "#f", "file_path": "a b.pdf", "description": "noise", "category": "noise"},
]


def test_the_script_is_python_and_repeats_each_action() -> None:
    script = python_script(ACTIONS, as_workflow=True)
    tree = ast.parse(script)
    calls = [
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and ast.unparse(node.func) == "session.execute"
    ]
    assert [{k.arg: ast.literal_eval(k.value) for k in call.keywords} for call in calls] == [
        ACTIONS[0],
        {"type": "fill", "selector": {"css_selector": "#a", "xpath_selector": None}, "value": 'say "hi"\n'},
        {"type": "upload_file", "selector": "#f", "file_path": "a b.pdf"},
    ]
    assert "session.storage.upload('a b.pdf')" in script and "def run():" in script


def test_only_the_steps_without_a_workflow() -> None:
    assert (
        python_script(ACTIONS[:1], as_workflow=False)
        == "session.execute(type='goto', url=\"https://example.org/?q='x'\")\n"
    )
    assert python_script([], as_workflow=False).startswith("pass")
