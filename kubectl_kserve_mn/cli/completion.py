"""Shell completion: kubectl's plugin completion and the standalone binary's scripts.

One engine answers both, in the protocol of cobra's hidden ``__complete`` command
(spf13/cobra@03adb79:completions.go): the candidates one per line, each optionally followed by a tab
and a description, then a last line ``:<directive>`` with cobra's ``ShellCompDirective`` bits.

- ``kubectl kserve-mn <TAB>``: kubectl 1.26+ looks up an executable named ``kubectl_complete-kserve_mn``
  on PATH (``exec.LookPath``, so ``.exe``/``.bat``/``.cmd`` on Windows) and runs it with the plugin's
  words and the word being completed as the last argument, which is empty when a new word starts; it
  reads the output above, passes our stderr through and ignores everything when we exit non-zero
  (kubernetes/kubernetes@78fc8e4:staging/src/k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go,
  ``pluginCompletion``, ``lookupCompletionExec``, ``getPluginCompletions``). The pip install's console
  script of that name is :func:`kubectl_complete_main`; the Krew archive ships a small script of that
  name that runs ``kubectl-kserve_mn __complete "$@"``.
- ``kubectl-kserve_mn __complete WORD... CURRENT``: the same for the scripts that
  ``kubectl-kserve_mn completion bash|zsh|fish`` prints (:mod:`kubectl_kserve_mn.cli.completion_scripts`).

Everything is derived from the click command definitions: commands, every flag of a command (long and
short), click ``Choice`` values, file-name completion for ``click.Path``/``click.File`` flags and flags
whose metavar says FILE, PATH or DIR. What click cannot know comes from :data:`SOURCES`, keyed by the
click parameter name: KServe versions, kubeconfig contexts, clusters and users (the kubeconfig files are
read as YAML, without the kubernetes client), and from the cluster namespaces and InferenceService /
LLMInferenceService names. Cluster look-ups run under a deadline (:data:`DEFAULT_DEADLINE`, or
``$KSERVE_MN_COMPLETION_TIMEOUT`` seconds): past it they complete nothing. Completion never prints
anything but candidates on stdout, never a traceback, and exits 0.

Start-up: completing command names imports only click and this package's ``cli`` module; completing a
command's flags imports that one command's module; only a cluster look-up imports the cluster client.
"""

from __future__ import annotations

import enum
import inspect
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from kubectl_kserve_mn.cli import COMMANDS, cli

KUBECTL_COMPLETE_NAME = "kubectl_complete-kserve_mn"
"""The executable kubectl runs for ``kubectl kserve-mn <TAB>``: ``kubectl_complete-`` + the plugin's name."""

DEFAULT_DEADLINE = 1.0
"""Seconds a cluster look-up may take before completion gives up on it."""

DEADLINE_ENV = "KSERVE_MN_COMPLETION_TIMEOUT"

SHELLS = ("bash", "zsh", "fish")


class Directive(enum.IntFlag):
    """cobra's ShellCompDirective bits (spf13/cobra completions.go); ``DEFAULT`` lets the shell complete
    file names when there is no candidate."""

    DEFAULT = 0
    ERROR = 1
    NO_SPACE = 2
    NO_FILE_COMP = 4
    FILTER_FILE_EXT = 8
    FILTER_DIRS = 16
    KEEP_ORDER = 32


@dataclass(frozen=True)
class Candidate:
    value: str
    description: str = ""


@dataclass(frozen=True)
class Completions:
    candidates: tuple[Candidate, ...]
    directive: Directive

    def render(self) -> str:
        """The ``__complete`` output: ``value[\\tdescription]`` lines, then ``:<directive>``."""
        lines = []
        for candidate in self.candidates:
            value = _one_line(candidate.value).replace("\t", " ")
            if not value:
                continue
            description = _one_line(candidate.description)
            lines.append(f"{value}\t{description}" if description else value)
        lines.append(f":{int(self.directive)}")
        return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.replace("\b", "").split())


@dataclass
class Line:
    """What the words before the one being completed say."""

    command: str | None = None
    """The sub-command, None while still at the top level."""
    values: dict[str, list[str]] = field(default_factory=dict)
    """Option values by click parameter name, in the order given (top level and sub-command together)."""
    positionals: list[str] = field(default_factory=list)
    """The sub-command's positional words."""

    def value(self, name: str) -> str | None:
        """The last value given for an option (a flag given after the command wins over one before)."""
        given = self.values.get(name)
        return given[-1] if given else None


Source = Callable[[Line], list[Candidate]]


# --- parsing the line --------------------------------------------------------------------------------


@dataclass
class _Level:
    command: click.Command
    ctx: click.Context
    options: dict[str, click.Option]
    arguments: list[click.Argument]
    used: set[str] = field(default_factory=set)


def _level(command: click.Command, ctx: click.Context) -> _Level:
    options: dict[str, click.Option] = {}
    arguments: list[click.Argument] = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            for opt in [*param.opts, *param.secondary_opts]:
                options[opt] = param
        elif isinstance(param, click.Argument):
            arguments.append(param)
    return _Level(command, ctx, options, arguments)


def _takes_value(option: click.Option) -> bool:
    return not (option.is_flag or option.count)


def _root_context() -> click.Context:
    settings = dict(cli.context_settings)
    return click.Context(cli, info_name="kubectl kserve-mn", resilient_parsing=True, **settings)


@dataclass
class _Parsed:
    line: Line
    level: _Level
    pending: click.Option | None = None
    """An option whose value is the word being completed."""
    unknown_command: bool = False
    after_dashdash: bool = False


def _parse(words: Sequence[str]) -> _Parsed:
    """Walk the words like click does: options before the sub-command belong to the group, the first
    other word names the sub-command, then options and arguments interleave until ``--``."""
    level = _level(cli, _root_context())
    parsed = _Parsed(Line(), level)
    line = parsed.line
    i = 0
    while i < len(words):
        word = words[i]
        is_option = word.startswith("-") and word != "-" and not parsed.after_dashdash
        if word == "--" and not parsed.after_dashdash:
            parsed.after_dashdash = True
        elif not is_option:
            if isinstance(level.command, click.Group) and line.command is None:
                sub = level.command.get_command(level.ctx, word)
                if sub is None:
                    parsed.unknown_command = True
                    return parsed
                line.command = word
                level = parsed.level = _level(sub, click.Context(sub, parent=level.ctx, info_name=word))
            else:
                line.positionals.append(word)
        elif word.startswith("--"):
            name, eq, inline = word.partition("=")
            option = level.options.get(name)
            if option is not None:
                level.used.add(str(option.name))
                if _takes_value(option):
                    if eq:
                        _record(line, option, inline)
                    elif i + 1 < len(words):
                        i += 1
                        _record(line, option, words[i])
                    else:
                        parsed.pending = option
        else:  # one or more short options: -A, -nteam-a, -n team-a, -yA
            for pos in range(1, len(word)):
                option = level.options.get("-" + word[pos])
                if option is None:
                    break
                level.used.add(str(option.name))
                if _takes_value(option):
                    rest = word[pos + 1 :]
                    if rest:
                        _record(line, option, rest.removeprefix("="))
                    elif i + 1 < len(words):
                        i += 1
                        _record(line, option, words[i])
                    else:
                        parsed.pending = option
                    break
        i += 1
    return parsed


def _record(line: Line, option: click.Option, value: str) -> None:
    line.values.setdefault(str(option.name), []).append(value)


# --- what to offer -------------------------------------------------------------------------------------


def complete(args: Sequence[str], sources: Mapping[str, Source] | None = None) -> Completions:
    """Candidates for the last of ``args`` (the word being completed; empty to start a new word),
    given the words before it. ``sources`` completes parameters by click name (default :data:`SOURCES`)."""
    sources = SOURCES if sources is None else sources
    words, current = list(args[:-1]), (args[-1] if args else "")
    parsed = _parse(words)
    if parsed.unknown_command:
        return Completions((), Directive.DEFAULT)
    level, line = parsed.level, parsed.line
    # A word starting with "-" completes flag names, like cobra; "-" alone after -f is stdin.
    flag_word = current.startswith("-") and not parsed.after_dashdash
    if current == "-" and parsed.pending is not None:
        flag_word = False
    if flag_word and "=" in current:
        # --namespace=te or -n=te: the value after "="; the shell scripts keep the "--flag=" part.
        name, _, prefix = current.partition("=")
        option = level.options.get(name if name.startswith("--") else "-" + name[-1:])
        if option is None or not _takes_value(option):
            return Completions((), Directive.NO_FILE_COMP)
        return _complete_param(option, prefix, line, sources)
    if flag_word:
        return _complete_flags(level, current)
    if parsed.pending is not None:
        return _complete_param(parsed.pending, current, line, sources)
    if isinstance(level.command, click.Group) and line.command is None:
        return _complete_commands(current)
    argument = _argument_for(level.arguments, len(line.positionals))
    if argument is None:
        return Completions((), Directive.NO_FILE_COMP)
    result = _complete_param(argument, current, line, sources)
    if argument.nargs == -1:  # check NAME...: each name once
        given = set(line.positionals)
        result = Completions(tuple(c for c in result.candidates if c.value not in given), result.directive)
    return result


def _complete_commands(prefix: str) -> Completions:
    # The help texts are in COMMANDS: listing commands imports none of them. "__" names are hidden.
    found = [
        Candidate(name, str(entry[1]) if len(entry) > 1 else "")
        for name, entry in COMMANDS.items()
        if name.startswith(prefix) and not name.startswith("_")
    ]
    return Completions(tuple(found), Directive.NO_FILE_COMP)


def _complete_flags(level: _Level, prefix: str) -> Completions:
    found: list[Candidate] = []
    seen: set[int] = set()
    for option in level.options.values():
        if id(option) in seen or option.hidden:
            continue
        seen.add(id(option))
        if option.name in level.used and not (option.multiple or option.count):
            continue  # like cobra: a flag already given is not offered again unless it repeats
        help_text = (option.help or "").strip().splitlines()
        description = help_text[0] if help_text else ""
        for opt in sorted([*option.opts, *option.secondary_opts], key=lambda o: (not o.startswith("--"), o)):
            if opt.startswith(prefix):
                found.append(Candidate(opt, description))
    return Completions(tuple(found), Directive.NO_FILE_COMP)


def _argument_for(arguments: Sequence[click.Argument], given: int) -> click.Argument | None:
    """The argument the next positional word fills, after ``given`` of them."""
    for argument in arguments:
        if argument.nargs < 0:
            return argument
        if given < argument.nargs:
            return argument
        given -= argument.nargs
    return None


def _is_file_param(param: click.Parameter) -> bool:
    if isinstance(param.type, click.Path | click.File):
        return True
    metavar = (param.metavar or "").upper().replace("|", " ").replace("/", " ").split()
    return any(word in ("FILE", "PATH", "DIR", "DIRECTORY", "FILENAME") for word in metavar)


def _complete_param(
    param: click.Parameter, prefix: str, line: Line, sources: Mapping[str, Source]
) -> Completions:
    source = sources.get(str(param.name))
    if source is not None:
        found = [c for c in source(line) if c.value.startswith(prefix)]
        return Completions(tuple(found), Directive.NO_FILE_COMP)
    if isinstance(param.type, click.Choice):
        choices = [str(choice) for choice in param.type.choices]
        return Completions(
            tuple(Candidate(c) for c in choices if c.startswith(prefix)), Directive.NO_FILE_COMP
        )
    if _is_file_param(param):
        only_dirs = isinstance(param.type, click.Path) and param.type.dir_okay and not param.type.file_okay
        return Completions((), Directive.FILTER_DIRS if only_dirs else Directive.DEFAULT)
    return Completions((), Directive.NO_FILE_COMP)


# --- sources: the KServe versions, the kubeconfig, the cluster -------------------------------------


def kserve_versions(line: Line) -> list[Candidate]:
    """``auto`` and the first release of every KServe era the tool knows."""
    from kubectl_kserve_mn.kserve import eras

    found = [Candidate("auto", "read the version from the cluster")]
    found += [Candidate(eras.format_version(era.since), f"KServe {era.key} rules") for era in eras.ERAS]
    return found


def gpu_resources(line: Line) -> list[Candidate]:
    from kubectl_kserve_mn.inventory import KSERVE_GPU_RESOURCES

    return [Candidate(name) for name in KSERVE_GPU_RESOURCES]


def kubeconfig_paths(flag: str | None) -> list[str]:
    """The kubeconfig files kubectl reads: --kubeconfig, else every existing file of $KUBECONFIG,
    else ~/.kube/config."""
    if flag:
        return [os.path.expanduser(flag)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
    return [os.path.expanduser(os.path.join("~", ".kube", "config"))]


def _kubeconfig_docs(line: Line) -> list[dict[str, Any]]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs = []
    for path in kubeconfig_paths(line.value("kubeconfig")):
        try:
            with open(path, encoding="utf-8") as handle:
                doc = yaml.load(handle, Loader=loader)
        except (OSError, ValueError, yaml.YAMLError):
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def _kubeconfig_source(section: str) -> Source:
    def names(line: Line) -> list[Candidate]:
        docs = _kubeconfig_docs(line)
        current = next((str(d["current-context"]) for d in docs if d.get("current-context")), None)
        found: dict[str, Candidate] = {}
        for doc in docs:  # merged first-wins, like kubectl
            for entry in doc.get(section) or []:
                if isinstance(entry, dict) and entry.get("name") and str(entry["name"]) not in found:
                    name = str(entry["name"])
                    current_mark = section == "contexts" and name == current
                    found[name] = Candidate(name, "current context" if current_mark else "")
        return list(found.values())

    return names


ClusterCall = Callable[[Any, Line], list[Candidate]]


def lookup_deadline() -> float:
    text = os.environ.get(DEADLINE_ENV, "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_DEADLINE
    return value if value > 0 else DEFAULT_DEADLINE


def _connect(line: Line, deadline: float) -> Any:
    """A Cluster for the connection flags on the line, with the deadline as its request timeout."""
    from kubectl_kserve_mn.cluster import Cluster

    accepted = inspect.signature(Cluster).parameters
    kwargs: dict[str, Any] = {}
    for name, values in line.values.items():
        key = "cluster" if name == "cluster_name" else name
        if key in accepted and key != "request_timeout" and values:
            kwargs[key] = values[-1]
    return Cluster(request_timeout=f"{deadline:.3f}s", **kwargs)


def from_cluster(line: Line, *calls: ClusterCall) -> list[Candidate]:
    """Run the look-ups one after the other in a background thread and return what they found within
    the deadline; any failure (no kubeconfig, unreachable, 403, no CRD) completes nothing."""
    deadline = lookup_deadline()
    found: list[Candidate] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            cluster = _connect(line, deadline)
        except Exception as err:  # no kubeconfig, bad flags: nothing to complete
            _debug(err)
            return
        for call in calls:
            try:
                items = call(cluster, line)
            except Exception as err:  # unreachable, forbidden, CRD missing: the next may still work
                _debug(err)
                continue
            with lock:
                found.extend(items)

    # A daemon thread: a server that never answers must not keep the process from exiting.
    thread = threading.Thread(target=work, name="kserve-mn-completion", daemon=True)
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        _abandoned.append(thread)
    with lock:
        return list(found)


def _debug(err: Exception) -> None:
    """With KSERVE_MN_DEBUG set, say on stderr why a look-up completed nothing (shells discard stderr)."""
    if os.environ.get("KSERVE_MN_DEBUG"):
        print(f"kserve-mn completion: {type(err).__name__}: {err}", file=sys.stderr)


_abandoned: list[threading.Thread] = []
"""Look-ups still running past their deadline: the process ends without waiting for them."""


def _namespace_names(cluster: Any, line: Line) -> list[Candidate]:
    return [Candidate(name) for name in cluster.list_namespaces()]


def _names(items: list[dict[str, Any]], prefix: str = "", description: str = "") -> list[Candidate]:
    found = []
    for item in items:
        name = (item.get("metadata") or {}).get("name")
        if name:
            found.append(Candidate(prefix + str(name), description))
    return found


def _inferenceservice_names(cluster: Any, line: Line) -> list[Candidate]:
    return _names(cluster.list_inferenceservices(line.value("namespace") or cluster.namespace))


def _llminferenceservice_names(cluster: Any, line: Line) -> list[Candidate]:
    items = cluster.list_llminferenceservices(line.value("namespace") or cluster.namespace)
    return _names(items, "llmisvc/", "LLMInferenceService")


def namespaces(line: Line) -> list[Candidate]:
    return from_cluster(line, _namespace_names)


def inferenceservices(line: Line) -> list[Candidate]:
    return from_cluster(line, _inferenceservice_names)


def inference_workloads(line: Line) -> list[Candidate]:
    """InferenceService names, then ``llmisvc/NAME`` for LLMInferenceServices when their CRD exists."""
    return from_cluster(line, _inferenceservice_names, _llminferenceservice_names)


SOURCES: dict[str, Source] = {
    "kserve_version": kserve_versions,
    "gpu_resource": gpu_resources,
    "context": _kubeconfig_source("contexts"),
    "cluster_name": _kubeconfig_source("clusters"),
    "cluster": _kubeconfig_source("clusters"),
    "user": _kubeconfig_source("users"),
    "namespace": namespaces,
    "isvc": inferenceservices,
    "name": inference_workloads,
    "names": inference_workloads,
}
"""Completion of parameters whose values click cannot know, by click parameter name."""


# --- the commands and the entry point ----------------------------------------------------------------


def answer(args: Sequence[str]) -> str:
    """The ``__complete`` output for ``args``; an unexpected failure answers cobra's error directive."""
    try:
        return complete(list(args) or [""]).render()
    except Exception:
        if os.environ.get("KSERVE_MN_DEBUG"):
            raise
        return Completions((), Directive.ERROR).render()


def _write(text: str) -> None:
    # Bytes, so that Windows does not turn "\n" into "\r\n" (kubectl splits on "\n" and would not
    # recognise ":4\r" as the directive).
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        stream.write(text)
        stream.flush()


def _finish() -> None:
    """End a completion process at once when a look-up was abandoned: a thread stuck in a read (or in
    an import) must not hold up the interpreter's shutdown. Only when this process owns stdout, never
    inside a test runner that captured it."""
    if _abandoned and sys.stdout is sys.__stdout__:
        os._exit(0)


def kubectl_complete_main(argv: Sequence[str] | None = None) -> int:
    """Console entry point ``kubectl_complete-kserve_mn``: kubectl passes the plugin's words directly."""
    _write(answer(sys.argv[1:] if argv is None else argv))
    _finish()
    return 0


class _RawWordsCommand(click.Command):
    """Takes every word as it is (``--``, ``--help`` and unknown flags included): they are a command
    line to complete, not options of this command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.params["words"] = tuple(args)
        return []


@click.command(
    "__complete",
    cls=_RawWordsCommand,
    hidden=True,
    add_help_option=False,
    short_help="Shell completion protocol (cobra's __complete), used by the completion scripts.",
)
def complete_command(words: tuple[str, ...]) -> None:
    """Print completion candidates for a command line: WORD... CURRENT (CURRENT may be '')."""
    _write(answer(words))
    _finish()


@click.command(
    "completion",
    short_help="Print a shell completion script (bash, zsh or fish).",
    epilog="Exit codes: 0 success; 2 usage error.",
)
@click.argument("shell", type=click.Choice(SHELLS))
def completion_command(shell: str) -> None:
    """Print the completion script of SHELL for the kubectl-kserve_mn executable.

    \b
    bash:  source <(kubectl-kserve_mn completion bash)          (in ~/.bashrc)
    zsh:   source <(kubectl-kserve_mn completion zsh)           (in ~/.zshrc, after compinit)
           or save it as _kubectl-kserve_mn in a folder of $fpath
    fish:  kubectl-kserve_mn completion fish > ~/.config/fish/completions/kubectl-kserve_mn.fish

    \b
    For `kubectl kserve-mn <TAB>` (kubectl 1.26+), put the kubectl_complete-kserve_mn executable
    on PATH: pip installs it; from the Krew archive copy it next to the plugin's link:
      cp "${KREW_ROOT:-$HOME/.krew}"/store/kserve-mn/*/kubectl_complete-kserve_mn "${KREW_ROOT:-$HOME/.krew}/bin/"
    """
    from kubectl_kserve_mn.cli.completion_scripts import script

    click.echo(script(shell), nl=False)
