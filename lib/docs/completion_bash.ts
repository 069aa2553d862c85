/**
 * The bash completion script: a generated lookup function over the completion data and a
 * fixed engine that walks the command line (honouring drbdadm's `-c FILE`), then offers
 * commands, options, option values, resources, volumes and minors.
 *
 * @module
 */

// shell text: "$\{" stands for "${", which a template literal would interpolate
const ENGINE = String.raw`
# Adds the words a slot allows to __udrbd_cands; sets __udrbd_files for paths.
__udrbd_slot() {
  local slot=$1 cur=$2 w run=$\{UDRBD_RUN_DIR:-/run/udrbd}
  local -a conf=()
  [[ -n $__udrbd_conf ]] && conf=(-c "$__udrbd_conf")
  case $slot in
  w:*)
    local IFS=,
    __udrbd_cands+=($\{slot#w:})
    ;;
  file) __udrbd_files=1 ;;
  admres | admresvol)
    if [[ $slot == admresvol && $cur == */* ]]; then
      local res=$\{cur%%/*}
      for w in $("$\{__udrbd_prog[@]}" "$\{conf[@]}" dump-xml "$res" 2>/dev/null |
        sed -n 's/.*<volume vnr="\([0-9][0-9]*\)".*/\1/p' | sort -un); do
        __udrbd_cands+=("$res/$w")
      done
    else
      __udrbd_cands+=(all $("$\{__udrbd_prog[@]}" "$\{conf[@]}" sh-resources 2>/dev/null))
    fi
    ;;
  setres | setresall)
    [[ $slot == setresall ]] && __udrbd_cands+=(all)
    # only ask a running daemon: drbdsetup would start one on demand
    if [[ -S $run/control.sock && -r $run/daemon.pid ]] &&
      kill -0 "$(<"$run/daemon.pid")" 2>/dev/null; then
      __udrbd_cands+=($("$\{__udrbd_prog[@]}" status 2>/dev/null |
        sed -n 's/^\([^ ][^ ]*\) .*/\1/p'))
    fi
    ;;
  minor)
    for w in "$run"/nbd/drbd*.sock; do
      [[ -S $w ]] || continue
      w=$\{w##*/drbd}
      __udrbd_cands+=("$\{w%.sock}")
    done
    ;;
  esac
}

# Candidates for the last of "$@" (the words after the tool name) of tool $1.
__udrbd_candidates() {
  local tool=$1
  shift
  local cur=$\{@: -1} w name expect= dashdash= cmd= slot
  local -a before=("$\{@:1:$#-1}") pos=() lead=() args=() opts=()
  __udrbd_data "lead $tool"
  lead=($REPLY)
  for w in "$\{before[@]}"; do
    if [[ -n $expect ]]; then
      [[ $expect == --config-file ]] && __udrbd_conf=$w
      expect=
      continue
    fi
    if [[ -n $dashdash || $w != -?* ]]; then
      pos+=("$w")
      continue
    fi
    case $w in
    --) dashdash=1 ;;
    --*=*) [[ $\{w%%=*} == --config-file ]] && __udrbd_conf=$\{w#*=} ;;
    --*)
      __udrbd_data "opt $tool $w"
      [[ $\{REPLY%% *} == separate ]] && expect=$w
      ;;
    *)
      __udrbd_data "short $tool $\{w:0:2}"
      name=$REPLY
      [[ -n $name ]] || continue
      __udrbd_data "opt $tool $name"
      [[ $\{REPLY%% *} == separate ]] || continue
      if (($\{#w} > 2)); then
        [[ $name == --config-file ]] && __udrbd_conf=$\{w:2}
      else
        expect=$name
      fi
      ;;
    esac
  done
  (($\{#pos[@]} > $\{#lead[@]})) && cmd=$\{pos[$\{#lead[@]}]}
  if [[ -n $expect ]]; then
    __udrbd_data "opt $tool $expect"
    __udrbd_slot "$\{REPLY#* }" "$cur"
    return
  fi
  if [[ -z $dashdash && $cur == --*=* ]]; then
    name=$\{cur%%=*}
    __udrbd_data "opt $tool $name"
    [[ -n $REPLY ]] || return
    __udrbd_prefix=$name=
    __udrbd_slot "$\{REPLY#* }" "$\{cur#*=}"
    return
  fi
  if [[ -z $dashdash && $cur == -* ]]; then
    __udrbd_data "gopts $tool"
    opts=($REPLY)
    if [[ -n $cmd ]]; then
      __udrbd_data "copts $tool $cmd"
      opts+=($REPLY)
    fi
    for name in "$\{opts[@]}"; do
      __udrbd_data "opt $tool $name"
      [[ $\{REPLY%% *} == separate ]] && name+="="
      __udrbd_cands+=("$name")
    done
    return
  fi
  local n=$\{#pos[@]}
  if ((n < $\{#lead[@]})); then
    __udrbd_slot "$\{lead[n]}" "$cur"
    return
  fi
  __udrbd_data "cmds $tool"
  [[ -n $REPLY ]] || return
  if ((n == $\{#lead[@]})); then
    __udrbd_cands+=($REPLY)
    return
  fi
  __udrbd_data "args $tool $cmd"
  args=($REPLY)
  local k=$((n - $\{#lead[@]} - 1))
  (($\{#args[@]})) || return
  if ((k >= $\{#args[@]})); then
    slot=$\{args[$\{#args[@]} - 1]}
    [[ $slot == *+ ]] || return
  else
    slot=$\{args[k]}
  fi
  __udrbd_slot "$\{slot%+}" "$cur"
}

# Sets REPLY to word $1 without the quoting typed with it (backslashes, quotes, a leading ~).
__udrbd_dequote() {
  local w=$1
  w=$\{w//\\\\/$'\001'}
  w=$\{w//\\/}
  w=$\{w//$'\001'/\\}
  w=$\{w//[\'\"]/}
  REPLY=$\{w/#\~/$HOME}
}

_udrbd() {
  local i w glue= REPLY
  local -a words=() __udrbd_prog=() __udrbd_cands=() rest=()
  local __udrbd_files= __udrbd_prefix= __udrbd_conf=
  # bash splits "--opt=value" at '=' (COMP_WORDBREAKS); join the pieces again
  for ((i = 0; i <= COMP_CWORD; i++)); do
    w=$\{COMP_WORDS[i]}
    if [[ -n $glue ]]; then
      words[$\{#words[@]} - 1]+=$w
      glue=
    elif [[ $w == = && $\{#words[@]} -gt 1 && $\{words[$\{#words[@]} - 1]} == --* ]]; then
      words[$\{#words[@]} - 1]+==
      glue=1
    else
      words+=("$w")
    fi
  done
  local cur=$\{words[$\{#words[@]} - 1]} typed=$\{COMP_WORDS[COMP_CWORD]}
  # the words before the cursor are used as the shell will pass them
  for ((i = 0; i < $\{#words[@]} - 1; i++)); do
    __udrbd_dequote "$\{words[i]}"
    words[i]=$REPLY
  done
  __udrbd_prog=("$\{words[0]}")
  local tool=$\{words[0]##*/}
  rest=("$\{words[@]:1}")
  if [[ $tool == udrbd ]]; then
    if (($\{#rest[@]} == 1)); then
      __udrbd_data tools
      COMPREPLY=($(compgen -W "$REPLY --help --version" -- "$cur"))
      return
    fi
    tool=$\{rest[0]}
    __udrbd_prog+=("$tool")
    rest=("$\{rest[@]:1}")
  fi
  __udrbd_candidates "$tool" "$\{rest[@]}"
  # values of "--opt=value" were computed without their "--opt=" part
  [[ -n $__udrbd_prefix ]] && __udrbd_cands=("$\{__udrbd_cands[@]/#/$__udrbd_prefix}")
  # the part of the joined word before what bash treats as the current word
  local strip=$\{cur%"$typed"} c
  COMPREPLY=()
  if [[ -n $__udrbd_files ]]; then
    compopt -o filenames 2>/dev/null
    while IFS= read -r c; do
      __udrbd_cands+=("$__udrbd_prefix$c")
    done < <(compgen -f -- "$\{cur#"$__udrbd_prefix"}")
  fi
  for c in "$\{__udrbd_cands[@]}"; do
    [[ $c == "$cur"* ]] && COMPREPLY+=("$\{c#"$strip"}")
  done
  if (($\{#COMPREPLY[@]} == 1)) && [[ $\{COMPREPLY[0]} == *[=/] ]]; then
    compopt -o nospace 2>/dev/null
  fi
  return 0
}

complete -F _udrbd drbdadm drbdsetup drbdmeta drbd-overview udrbd
`.replaceAll("$\\{", "${");

/** The bash script for the lookup lines of {@link completionData}. */
export function bashScript(data: readonly [string, string][]): string {
  let out =
    "# bash completion for udrbd: drbdadm, drbdsetup, drbdmeta, drbd-overview and udrbd itself.\n" +
    "# Generated by `udrbd completions bash` from udrbd's command and option tables;\n" +
    "# regenerate with `deno task completions` instead of editing.\n\n" +
    "# Sets REPLY to the completion data stored under key $1 (empty when none).\n" +
    "__udrbd_data() {\n  case $1 in\n";
  for (const [k, v] of data) out += `  '${k}') REPLY='${v}' ;;\n`;
  out += "  *) REPLY= ;;\n  esac\n}\n";
  return out + ENGINE;
}
