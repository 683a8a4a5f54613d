"""Machine output (-o json|yaml) shared by the commands."""

from __future__ import annotations

import json
from typing import Any

import click
import yaml


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2)


def emit(data: Any, output: str) -> None:
    """Print ``data`` as JSON or YAML."""
    if output == "json":
        click.echo(to_json(data))
    elif output == "yaml":
        click.echo(to_yaml(data), nl=False)
    else:  # pragma: no cover - callers only pass json/yaml
        raise ValueError(output)
