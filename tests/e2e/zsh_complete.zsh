# zsh zsh_complete.zsh FPATH_DIR 'COMMAND LINE'
# Types COMMAND LINE and a TAB into an interactive zsh (on a pseudo-terminal, with compinit
# and FPATH_DIR first in $fpath) and prints the matches its completion system offers, one a
# line: compadd, which every completion function ends in, is wrapped to print them.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; RPROMPT=''; fpath=($1 \$fpath); autoload -Uz compinit && compinit -u -D"
# The terminal echoes what is written to it, when the shell gets to it: the markers are
# split by quotes in the commands, so that only what the commands print holds them whole.
zpty -w z 'compadd() { local -a __m; builtin compadd -O __m "$@"; (( $#__m )) && print -r -l -- "<mat""ch>"${^__m}"</mat""ch>"; builtin compadd "$@"; }'
zpty -w z "print '<rea''dy>'"
zpty -r z line '*<ready>*'
zpty -w -n z "$2"$'\t'
out=
integer i
for (( i = 0; i < 100; i++ )); do
  if zpty -r -t z line; then out+=$line; i=0; else sleep 0.05; fi
  [[ $out == *'</match>'* ]] && (( i > 10 )) && break
done
zpty -d z
print -r -- "$out" | tr -d '\r' | grep -o '<match>[^<]*</match>' | sed 's/<match>//; s/<\/match>//' | sort -u
