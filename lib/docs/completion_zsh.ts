/**
 * The zsh completion function `_udrbd` (for a directory in `$fpath`): the same lookup data and
 * command-line walk as the bash script, written in zsh, handing candidates to `compadd`.
 *
 * @module
 */

// shell text: "$\{" stands for "${", which a template literal would interpolate
const ENGINE = String.raw`
# Adds the words a slot allows to __udrbd_cands; sets __udrbd_files for paths.
__udrbd_slot() {
  emulate -L zsh
  local slot=$1 cur=$2 w out run=$\{UDRBD_RUN_DIR:-/run/udrbd}
  local -a conf
  [[ -n $__udrbd_conf ]] && conf=(-c $__udrbd_conf)
  case $slot in
  (w:*) __udrbd_cands+=($\{(s:,:)$\{slot#w:}}) ;;
  (file) __udrbd_files=1 ;;
  (admres|admresvol)
    if [[ $slot == admresvol && $cur == */* ]]; then
      local res=$\{cur%%/*}
      out=$($__udrbd_prog $conf dump-xml $res 2>/dev/null |
        sed -n 's/.*<volume vnr="\([0-9][0-9]*\)".*/\1/p' | sort -un)
      for w in $\{(f)out}; do __udrbd_cands+=($res/$w); done
    else
      out=$($__udrbd_prog $conf sh-resources 2>/dev/null)
      __udrbd_cands+=(all $\{=out})
    fi
    ;;
  (setres|setresall)
    [[ $slot == setresall ]] && __udrbd_cands+=(all)
    # only ask a running daemon: drbdsetup would start one on demand
    if [[ -S $run/control.sock && -r $run/daemon.pid ]] &&
      kill -0 "$(<$run/daemon.pid)" 2>/dev/null; then
      out=$($__udrbd_prog status 2>/dev/null | sed -n 's/^\([^ ][^ ]*\) .*/\1/p')
      __udrbd_cands+=($\{(f)out})
    fi
    ;;
  (minor)
    for w in $run/nbd/drbd*.sock(N=); do
      w=$\{w:t}
      w=$\{w#drbd}
      __udrbd_cands+=($\{w%.sock})
    done
    ;;
  esac
}

# Candidates for the last of "$@" (the words after the tool name) of tool $1.
__udrbd_candidates() {
  emulate -L zsh
  local tool=$1 w name expect= dashdash= cmd= slot REPLY
  shift
  local cur=$\{@[-1]}
  local -a before pos lead args opts
  before=("$\{(@Q)@[1,-2]}")
  __udrbd_data "lead $tool"
  lead=($\{=REPLY})
  for w in $before; do
    if [[ -n $expect ]]; then
      [[ $expect == --config-file ]] && __udrbd_conf=$w
      expect=
      continue
    fi
    if [[ -n $dashdash || $w != -?* ]]; then
      pos+=($w)
      continue
    fi
    case $w in
    (--) dashdash=1 ;;
    (--*=*) [[ $\{w%%=*} == --config-file ]] && __udrbd_conf=$\{w#*=} ;;
    (--*)
      __udrbd_data "opt $tool $w"
      [[ $\{REPLY%% *} == separate ]] && expect=$w
      ;;
    (*)
      __udrbd_data "short $tool $\{w[1,2]}"
      name=$REPLY
      [[ -n $name ]] || continue
      __udrbd_data "opt $tool $name"
      [[ $\{REPLY%% *} == separate ]] || continue
      if (( $\{#w} > 2 )); then
        [[ $name == --config-file ]] && __udrbd_conf=$\{w[3,-1]}
      else
        expect=$name
      fi
      ;;
    esac
  done
  (( $\{#pos} > $\{#lead} )) && cmd=$\{pos[$\{#lead} + 1]}
  if [[ -n $expect ]]; then
    __udrbd_data "opt $tool $expect"
    __udrbd_slot $\{REPLY#* } $cur
    return
  fi
  if [[ -z $dashdash && $cur == --*=* ]]; then
    name=$\{cur%%=*}
    __udrbd_data "opt $tool $name"
    [[ -n $REPLY ]] || return
    __udrbd_prefix=$name=
    __udrbd_slot $\{REPLY#* } $\{cur#*=}
    return
  fi
  if [[ -z $dashdash && $cur == -* ]]; then
    __udrbd_data "gopts $tool"
    opts=($\{=REPLY})
    if [[ -n $cmd ]]; then
      __udrbd_data "copts $tool $cmd"
      opts+=($\{=REPLY})
    fi
    for name in $opts; do
      __udrbd_data "opt $tool $name"
      [[ $\{REPLY%% *} == separate ]] && name+="="
      __udrbd_cands+=($name)
    done
    return
  fi
  local n=$\{#pos}
  if (( n < $\{#lead} )); then
    __udrbd_slot $\{lead[n + 1]} $cur
    return
  fi
  __udrbd_data "cmds $tool"
  [[ -n $REPLY ]] || return
  if (( n == $\{#lead} )); then
    __udrbd_cands+=($\{=REPLY})
    return
  fi
  __udrbd_data "args $tool $cmd"
  args=($\{=REPLY})
  local k=$(( n - $\{#lead} ))
  (( $\{#args} )) || return
  if (( k > $\{#args} )); then
    slot=$\{args[-1]}
    [[ $slot == *+ ]] || return
  else
    slot=$\{args[k]}
  fi
  __udrbd_slot $\{slot%+} $cur
}

_udrbd() {
  emulate -L zsh
  local REPLY w tool __udrbd_files= __udrbd_prefix= __udrbd_conf=
  local -a __udrbd_prog __udrbd_cands rest eq plain
  # the words before the cursor are used as the shell will pass them
  __udrbd_prog=($\{$\{(Q)words[1]}/#\~/$HOME})
  tool=$\{words[1]:t}
  rest=("$\{(@)words[2,CURRENT]}")
  if [[ $tool == udrbd ]]; then
    if (( CURRENT == 2 )); then
      __udrbd_data tools
      compadd -- $\{=REPLY} --help --version
      return
    fi
    tool=$\{words[2]}
    __udrbd_prog+=($tool)
    rest=("$\{(@)rest[2,-1]}")
  fi
  __udrbd_candidates $tool "$\{(@)rest}"
  # values of "--opt=value" complete after the "--opt=" part
  [[ -n $__udrbd_prefix ]] && compset -P '*='
  for w in $__udrbd_cands; do
    if [[ $w == *= ]]; then eq+=($w); else plain+=($w); fi
  done
  (( $\{#eq} )) && compadd -S '' -- $eq
  (( $\{#plain} )) && compadd -- $plain
  [[ -n $__udrbd_files ]] && _files
  return 0
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _udrbd "$@"
else
  compdef _udrbd drbdadm drbdsetup drbdmeta drbd-overview udrbd
fi
`.replaceAll("$\\{", "${");

/** The zsh completion file for the lookup lines of {@link completionData}. */
export function zshScript(data: readonly [string, string][]): string {
  let out = "#compdef drbdadm drbdsetup drbdmeta drbd-overview udrbd\n" +
    "# zsh completion for udrbd: drbdadm, drbdsetup, drbdmeta, drbd-overview and udrbd itself.\n" +
    "# Generated by `udrbd completions zsh` from udrbd's command and option tables;\n" +
    "# regenerate with `deno task completions` instead of editing.\n\n" +
    "# Sets REPLY to the completion data stored under key $1 (empty when none).\n" +
    "__udrbd_data() {\n  case $1 in\n";
  for (const [k, v] of data) out += `  ('${k}') REPLY='${v}' ;;\n`;
  out += "  (*) REPLY= ;;\n  esac\n}\n";
  return out + ENGINE;
}
