/**
 * The fish completion script: the same lookup data and command-line walk as the bash script,
 * written in fish; one `complete` rule per tool prints the candidates for the current token.
 *
 * @module
 */

// shell text: "$\{" stands for "${", which a template literal would interpolate
const ENGINE = String.raw`
# Prints the words a slot allows for the value $argv[2].
function __udrbd_slot --argument-names slot cur
    set -l run /run/udrbd
    test -n "$UDRBD_RUN_DIR"; and set run $UDRBD_RUN_DIR
    set -l conf
    test -n "$__udrbd_conf"; and set conf -c $__udrbd_conf
    switch $slot
        case 'w:*'
            string split -n , -- (string sub -s 3 -- $slot)
        case file
            __fish_complete_path "$cur"
        case admres admresvol
            if test $slot = admresvol; and string match -q -- '*/*' "$cur"
                set -l res (string split -m1 / -- "$cur")[1]
                for v in ($__udrbd_prog $conf dump-xml $res 2>/dev/null | string replace -rf '.*<volume vnr="([0-9]+)".*' '$1' | sort -un)
                    echo $res/$v
                end
            else
                echo all
                $__udrbd_prog $conf sh-resources 2>/dev/null | string split -n ' '
            end
        case setres setresall
            test $slot = setresall; and echo all
            # only ask a running daemon: drbdsetup would start one on demand
            if test -S $run/control.sock -a -r $run/daemon.pid; and kill -0 (cat $run/daemon.pid) 2>/dev/null
                $__udrbd_prog status 2>/dev/null | string replace -rf '^([^ ]+) .*' '$1'
            end
        case minor
            for f in $run/nbd/drbd*.sock
                test -S $f; or continue
                string replace -r '^.*/drbd(.*)\.sock$' '$1' -- $f
            end
    end
end

# Splits the completion data stored under key $argv[1] into words.
function __udrbd_words
    set -l raw (__udrbd_data $argv[1])
    string split -n ' ' -- "$raw"
end

# Prints the candidates for the last argument (the words after the tool name) of tool $argv[1].
function __udrbd_candidates
    set -l tool $argv[1]
    set -l n (count $argv)
    set -l cur $argv[$n]
    set -l before
    test $n -gt 2; and set before $argv[2..(math $n - 1)]
    set -l lead (__udrbd_words "lead $tool")
    set -l pos
    set -l expect ''
    set -l dashdash ''
    for w in $before
        if test -n "$expect"
            test "$expect" = --config-file; and set -g __udrbd_conf $w
            set expect ''
            continue
        end
        if test -n "$dashdash"; or not string match -qr '^-.' -- $w
            set -a pos $w
            continue
        end
        switch $w
            case --
                set dashdash 1
            case '--*=*'
                set -l kv (string split -m1 = -- $w)
                test "$kv[1]" = --config-file; and set -g __udrbd_conf $kv[2]
            case '--*'
                set -l spec (__udrbd_words "opt $tool $w")
                test "$spec[1]" = separate; and set expect $w
            case '*'
                set -l name (__udrbd_data "short $tool "(string sub -l 2 -- $w))
                test -n "$name"; or continue
                set -l spec (__udrbd_words "opt $tool $name")
                test "$spec[1]" = separate; or continue
                if test (string length -- $w) -gt 2
                    test "$name" = --config-file; and set -g __udrbd_conf (string sub -s 3 -- $w)
                else
                    set expect $name
                end
        end
    end
    set -l nlead (count $lead)
    set -l np (count $pos)
    set -l cmd ''
    test $np -gt $nlead; and set cmd $pos[(math $nlead + 1)]
    if test -n "$expect"
        set -l spec (__udrbd_words "opt $tool $expect")
        __udrbd_slot $spec[2] "$cur"
        return
    end
    if test -z "$dashdash"; and string match -q -- '--*=*' "$cur"
        set -l kv (string split -m1 = -- "$cur")
        set -l spec (__udrbd_words "opt $tool $kv[1]")
        test -n "$spec[1]"; or return
        for c in (__udrbd_slot $spec[2] "$kv[2]")
            echo "$kv[1]=$c"
        end
        return
    end
    if test -z "$dashdash"; and string match -q -- '-*' "$cur"
        set -l opts (__udrbd_words "gopts $tool")
        test -n "$cmd"; and set -a opts (__udrbd_words "copts $tool $cmd")
        for name in $opts
            set -l spec (__udrbd_words "opt $tool $name")
            if test "$spec[1]" = separate
                echo $name=
            else
                echo $name
            end
        end
        return
    end
    if test $np -lt $nlead
        __udrbd_slot $lead[(math $np + 1)] "$cur"
        return
    end
    set -l cmds (__udrbd_words "cmds $tool")
    test (count $cmds) -gt 0; or return
    if test $np -eq $nlead
        string join \n -- $cmds
        return
    end
    set -l args (__udrbd_words "args $tool $cmd")
    set -l na (count $args)
    test $na -gt 0; or return
    set -l k (math $np - $nlead)
    set -l slot
    if test $k -gt $na
        set slot $args[$na]
        string match -q -- '*+' $slot; or return
    else
        set slot $args[$k]
    end
    __udrbd_slot (string trim -r -c + -- $slot) "$cur"
end

# The candidates for the token under the cursor.
function __udrbd_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -g __udrbd_prog $words[1]
    set -g __udrbd_conf ''
    set -l tool (string replace -r '.*/' '' -- $words[1])
    set -l rest $words[2..]
    if test "$tool" = udrbd
        if test (count $rest) -eq 0
            __udrbd_words tools
            echo --help
            echo --version
            return
        end
        set tool $rest[1]
        set -a __udrbd_prog $tool
        set rest $rest[2..]
    end
    __udrbd_candidates $tool $rest "$cur"
end

complete -c drbdadm -f -a '(__udrbd_complete)'
complete -c drbdsetup -f -a '(__udrbd_complete)'
complete -c drbdmeta -f -a '(__udrbd_complete)'
complete -c drbd-overview -f -a '(__udrbd_complete)'
complete -c udrbd -f -a '(__udrbd_complete)'
`.replaceAll("$\\{", "${");

/** The fish script for the lookup lines of {@link completionData}. */
export function fishScript(data: readonly [string, string][]): string {
  let out =
    "# fish completion for udrbd: drbdadm, drbdsetup, drbdmeta, drbd-overview and udrbd itself.\n" +
    "# Generated by `udrbd completions fish` from udrbd's command and option tables;\n" +
    "# regenerate with `deno task completions` instead of editing.\n\n" +
    "# Prints the completion data stored under key $argv[1] (nothing when none).\n" +
    "function __udrbd_data\n    switch $argv[1]\n";
  for (const [k, v] of data) out += `        case '${k}'\n            echo '${v}'\n`;
  out += "    end\nend\n";
  return out + ENGINE;
}
