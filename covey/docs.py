"""The README's command-line and settings references, made from the code itself.

`python -m covey.docs` rewrites the marked sections of README.md; `--check` (run by `make lint`)
exits 1 when they differ from what the code says, so the references never drift.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer.main
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from covey.cli import app
from covey.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
_SECTION = re.compile(r"(<!-- generated: covey\.docs (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


# Typer carries a click of its own: commands and parameters are read by their attributes.
def _usage(command: Any) -> str:
    parts = []
    for param in command.params:
        if param.param_type_name == "argument":
            name = (param.metavar or param.name or "").upper()
            parts.append(name if param.required else f"[{name}]")
        elif param.param_type_name == "option" and param.name != "help":
            flag = max(param.opts, key=len)
            if param.is_flag:
                parts.append(f"[{flag}]")
            else:
                metavar = param.metavar or (param.name or "").upper()
                parts.append(f"{flag} {metavar}" if param.required else f"[{flag} {metavar}]")
    return " ".join(parts)


def _summary(command: Any) -> str:
    text = " ".join((command.help or "").split())
    return text.split(". ")[0].rstrip(".") if text else ""


def _commands(group: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def cli_reference() -> str:
    root = typer.main.get_command(app)
    rows = ["| command | what it does |", "|---|---|"]
    for path, command in _commands(root, "covey"):
        usage = _cell(f"{path} {_usage(command)}".strip())
        rows.append(f"| `{usage}` | {_cell(_summary(command))} |")
    return "\n".join(rows) + "\n"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        return f"`{value!r}`" if value else "none"
    if field.default is PydanticUndefined or field.default is None or field.default == "":
        return "none"
    return f"`{field.default}`"


def settings_reference() -> str:
    rows = ["| variable | meaning | default |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        variable = alias if isinstance(alias, str) else f"COVEY_{name.upper()}"
        meaning = _cell(" ".join((field.description or "").split()))
        rows.append(f"| `{variable}` | {meaning} | {_default(field)} |")
    return "\n".join(rows) + "\n"


SECTIONS = {"cli": cli_reference, "settings": settings_reference}


def render(readme: str) -> str:
    def _fill(match: re.Match[str]) -> str:
        return match.group(1) + SECTIONS[match.group(2)]() + match.group(4)

    return _SECTION.sub(_fill, readme)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md differs from the code")
    args = parser.parse_args(argv)
    current = README.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("README.md's generated sections are stale: run `python -m covey.docs`.", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
