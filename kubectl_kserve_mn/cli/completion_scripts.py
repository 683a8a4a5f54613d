"""The completion scripts ``kubectl-kserve_mn completion bash|zsh|fish`` prints.

Each one asks the program itself, as cobra's scripts do: ``kubectl-kserve_mn __complete WORD... CURRENT``
prints the candidates one per line (``candidate<TAB>description``) and last ``:<directive>``, the bits of
cobra's ShellCompDirective (:class:`kubectl_kserve_mn.cli.completion.Directive`): 1 error (offer
nothing), 2 no space after the candidate, 4 no file names when there is no candidate, 16 directory
names only, 32 keep the order. With no candidate and neither 4 nor 16, the shell completes file names.
For ``--flag=value`` the program answers the values; the scripts put the ``--flag=`` back.
The scripts are written for this tool (modelled on the protocol, not copied from cobra).
"""

from __future__ import annotations

PROGRAM = "kubectl-kserve_mn"

_BASH = r"""# bash completion for __PROG__                              -*- shell-script -*-
#
# Load it with:  source <(__PROG__ completion bash)
# The program answers: `__PROG__ __complete WORD... CURRENT` prints candidate[<TAB>description]
# lines and last :DIRECTIVE (1 error, 2 no space, 4 no file names, 16 directories only).

# Bash splits COMP_WORDS at COMP_WORDBREAKS, "=" and ":" among them. Join the pieces that touch in
# the line again, so that --context=arn:aws:eks:... reaches the program as one word; the word under
# the cursor is cut at the cursor. Sets words (to the cursor), cur (the last word) and piece (the part
# of cur that bash will replace).
__FUNC___words() {
    local line=${COMP_LINE:0:COMP_POINT} pos=0 i word rest blank
    words=()
    for (( i = 0; i <= COMP_CWORD; i++ )); do
        word=${COMP_WORDS[i]}
        rest=${line:pos}
        blank=${rest%%[![:space:]]*}
        if (( i == COMP_CWORD )); then
            word=${rest:${#blank}}
            piece=$word
        fi
        if (( i > 0 && ${#blank} == 0 && ${#words[@]} > 0 )); then
            words[${#words[@]}-1]+=$word
        else
            words+=("$word")
        fi
        pos=$(( pos + ${#blank} + ${#word} ))
    done
    cur=${words[${#words[@]}-1]}
}

__FUNC__() {
    local words cur piece out line directive=0 prefix="" lead value
    local -a lines
    COMPREPLY=()
    __FUNC___words
    out=$("${words[0]}" __complete "${words[@]:1}" 2>/dev/null) || return 0
    while IFS= read -r line; do
        lines+=("$line")
    done <<< "$out"
    line=${lines[${#lines[@]}-1]}
    if [[ $line == :* ]]; then
        directive=${line#:}
        unset "lines[${#lines[@]}-1]"
    fi
    (( directive & 1 )) && return 0
    # --flag=value: the program answers values; the word bash completes may start anywhere in cur.
    [[ $cur == -*=* ]] && prefix=${cur%%=*}=
    lead=${cur:0:${#cur}-${#piece}}
    for line in "${lines[@]}"; do
        value=$prefix${line%%$'\t'*}
        [[ -n ${line%%$'\t'*} && $value == "$cur"* ]] && COMPREPLY+=("${value:${#lead}}")
    done
    if (( ${#COMPREPLY[@]} > 0 )); then
        (( directive & 2 )) && compopt -o nospace 2>/dev/null
        (( directive & 32 )) && compopt -o nosort 2>/dev/null
    elif (( directive & 16 )); then
        compopt -o filenames 2>/dev/null
        while IFS= read -r line; do COMPREPLY+=("$line"); done < <(compgen -d -- "$piece")
    elif (( directive & 4 )); then
        compopt +o default 2>/dev/null
    fi
    return 0
}

complete -o default -F __FUNC__ __PROG__
"""

_ZSH = r"""#compdef __PROG__
# zsh completion for __PROG__
#
# Load it with:  source <(__PROG__ completion zsh)   (after compinit)
# or save it as _kubectl-kserve_mn in a folder of $fpath.
# The program answers: `__PROG__ __complete WORD... CURRENT` prints candidate[<TAB>description]
# lines and last :DIRECTIVE (1 error, 2 no space, 4 no file names, 16 directories only, 32 keep order).

__FUNC__() {
    local out line value desc directive=0
    local -a lines candidates opts
    out=$("${words[1]}" __complete "${(@)words[2,CURRENT-1]}" "$PREFIX" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    if [[ ${lines[-1]} == :* ]]; then
        directive=${lines[-1]#:}
        lines[-1]=()
    fi
    (( directive & 1 )) && return 1
    # --flag=value: complete only the part after "=".
    [[ $PREFIX == -*=* ]] && compset -P '*='
    for line in "${lines[@]}"; do
        value=${line%%$'\t'*}
        [[ -z $value ]] && continue
        desc=""
        [[ $line == *$'\t'* ]] && desc=${line#*$'\t'}
        candidates+=("${value//:/\\:}${desc:+:$desc}")
    done
    if (( ${#candidates} )); then
        (( directive & 2 )) && opts+=(-S '')
        if (( directive & 32 )); then
            _describe -V -t values 'values' candidates "${opts[@]}"
        else
            _describe -t values 'values' candidates "${opts[@]}"
        fi
        return
    fi
    (( directive & 16 )) && { _files -/; return; }
    (( directive & 4 )) && return 1
    _files
}

if [[ ${funcstack[1]} == __FUNC__ ]]; then
    __FUNC__ "$@"    # autoloaded from $fpath
else
    compdef __FUNC__ __PROG__
fi
"""

_FISH = r"""# fish completion for __PROG__
#
# Load it with:  __PROG__ completion fish | source
# or save it as ~/.config/fish/completions/__PROG__.fish
# The program answers: `__PROG__ __complete WORD... CURRENT` prints candidate[<TAB>description]
# lines and last :DIRECTIVE (1 error, 4 no file names, 16 directories only).

# Sets __FUNC___results and succeeds when they are the completions; fails when fish should complete
# file names itself.
function __FUNC___prepare
    set -g __FUNC___results
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l out ($tokens[1] __complete $tokens[2..-1] "$current" 2>/dev/null)
    or return 0
    set -l directive 0
    if string match -qr '^:[0-9]+$' -- "$out[-1]"
        set directive (string sub -s 2 -- "$out[-1]")
        set -e out[-1]
    end
    test (math "bitand($directive, 1)") -ne 0; and return 0
    set -l prefix
    string match -qr -- '^-[^=]*=' "$current"; and set prefix (string replace -r -- '=.*' '=' "$current")
    for line in $out
        test -n "$line"; and set -ga __FUNC___results "$prefix$line"
    end
    test (count $__FUNC___results) -gt 0; and return 0
    if test (math "bitand($directive, 16)") -ne 0
        set -g __FUNC___results (__fish_complete_directories "$current")
        return 0
    end
    test (math "bitand($directive, 4)") -ne 0
end

complete -c __PROG__ -e
complete -c __PROG__ -f -n __FUNC___prepare -a '$__FUNC___results'
"""

_SCRIPTS = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def script(shell: str, program: str = PROGRAM) -> str:
    """The completion script of ``shell`` (bash, zsh or fish) for ``program``."""
    function = "_" + "".join(c if c.isalnum() else "_" for c in program)
    return _SCRIPTS[shell].replace("__FUNC__", function).replace("__PROG__", program)
