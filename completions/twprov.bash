# bash completion for twprov                                -*- shell-script -*-
# Installed as share/bash-completion/completions/twprov.  twprov itself says
# what to offer (`twprov __complete WORD... CURRENT`, offline): commands,
# options, --target addresses and other names from the file (-f), kinds.

_twprov()
{
    local cur=${COMP_WORDS[COMP_CWORD]} args=() i w out line directive prefix=
    # the words after "twprov"; bash splits --opt=value at '=': put them together again
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((${#args[@]})) && [[ $w == "=" || ${COMP_WORDS[i - 1]} == "=" ]]; then
            args[${#args[@]} - 1]+=$w
        else
            args+=("$w")
        fi
    done
    [[ $cur == "=" ]] && cur=
    out=$("${COMP_WORDS[0]}" __complete "${args[@]}" 2>/dev/null) || return 0
    directive=${out##*$'\n'}
    [[ $out == *$'\n'* ]] && out=${out%$'\n'*} || out=
    COMPREPLY=()
    case $directive in
    :files)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        ;;
    :dirs)
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        ;;
    *)
        # what bash completes is the part after '=' of --opt=value
        [[ ${args[${#args[@]} - 1]} == --*=* ]] && prefix=${args[${#args[@]} - 1]%%=*}=
        if [[ -n $out ]]; then
            while IFS= read -r line; do
                line=${line%%$'\t'*}
                COMPREPLY+=("${line#"$prefix"}")
            done <<<"$out"
        fi
        ;;
    esac
    return 0
}
complete -F _twprov twprov
