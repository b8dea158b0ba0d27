package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// CommandFlags is one command's name, summary and flag set (nil: none),
// what the completion scripts and the flag reference are made from.
type CommandFlags struct {
	Name, Summary string
	Flags         *pflag.FlagSet
	// Words are what the command's first argument may be (completion's
	// shells, help's commands); nil: files.
	Words []string
}

// visibleFlags are fs's flags a user is shown, in definition order.
func visibleFlags(fs *pflag.FlagSet) []*pflag.Flag {
	var out []*pflag.Flag
	if fs == nil {
		return nil
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			out = append(out, f)
		}
	})
	return out
}

// Completion writes the completion script of prog for shell (bash, zsh
// or fish).
func Completion(w io.Writer, prog, shell string, cmds []CommandFlags) error {
	switch shell {
	case "bash":
		return bashCompletion(w, prog, cmds)
	case "zsh":
		return zshCompletion(w, prog, cmds)
	case "fish":
		return fishCompletion(w, prog, cmds)
	}
	return fmt.Errorf("shell %q: want bash, zsh or fish", shell)
}

func fn(prog string) string { return "_" + strings.ReplaceAll(prog, "-", "_") }

func bashCompletion(w io.Writer, prog string, cmds []CommandFlags) error {
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for %[1]s; load with: source <(%[1]s completion bash)
%[2]s() {
    local cur="${COMP_WORDS[COMP_CWORD]}" cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
        -*) ;;
        *) cmd="${COMP_WORDS[i]}"; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "%[3]s --help --version" -- "$cur"))
        return
    fi
    local flags="" words="" valued=""
    case "$cmd" in
`, prog, fn(prog), strings.Join(names, " "))
	for _, c := range cmds {
		var flags, valued []string
		for _, f := range visibleFlags(c.Flags) {
			flags = append(flags, "--"+f.Name)
			if f.Shorthand != "" {
				flags = append(flags, "-"+f.Shorthand)
			}
			if f.NoOptDefVal == "" {
				valued = append(valued, "--"+f.Name)
				if f.Shorthand != "" {
					valued = append(valued, "-"+f.Shorthand)
				}
			}
		}
		flags = append(flags, "--help")
		fmt.Fprintf(&b, "    %s) flags=%q; valued=%q; words=%q ;;\n", c.Name, strings.Join(flags, " "), " "+strings.Join(valued, " ")+" ", strings.Join(c.Words, " "))
	}
	b.WriteString(`    esac
    local prev="${COMP_WORDS[COMP_CWORD-1]}"
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    elif [[ $valued == *" $prev "* ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ -n $words ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
`)
	fmt.Fprintf(&b, "complete -o filenames -F %s %s\n", fn(prog), prog)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote makes s one single-quoted zsh word; in an _arguments spec,
// the brackets and colons of a description are escaped too.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func zshDesc(s string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`, ":", `\:`, "\n", " ").Replace(firstClause(s))
}

// firstClause shortens a usage text to what fits a completion menu.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ";("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

func zshCompletion(w io.Writer, prog string, cmds []CommandFlags) error {
	var b strings.Builder
	fmt.Fprintf(&b, "#compdef %[1]s\n# zsh completion for %[1]s; load with: source <(%[1]s completion zsh)\n%[2]s() {\n    local -a cmds\n    cmds=(\n", prog, fn(prog))
	for _, c := range cmds {
		fmt.Fprintf(&b, "        %s\n", zshQuote(c.Name+":"+strings.ReplaceAll(firstClause(c.Summary), ":", `\:`)))
	}
	b.WriteString("    )\n    if (( CURRENT == 2 )); then\n        _describe command cmds\n        return\n    fi\n    shift words\n    (( CURRENT-- ))\n    case $words[1] in\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s)\n        _arguments -s \\\n", c.Name)
		for _, f := range visibleFlags(c.Flags) {
			val := ""
			if f.NoOptDefVal == "" {
				val = ":" + f.Value.Type() + ":_files"
			}
			desc := "[" + zshDesc(f.Usage) + "]"
			if f.Shorthand != "" {
				fmt.Fprintf(&b, "            %s \\\n", zshQuote("(-"+f.Shorthand+" --"+f.Name+")"+"{-"+f.Shorthand+",--"+f.Name+"}"+desc+val))
			} else {
				fmt.Fprintf(&b, "            %s \\\n", zshQuote("--"+f.Name+desc+val))
			}
		}
		if c.Words != nil {
			fmt.Fprintf(&b, "            %s\n        ;;\n", zshQuote("1:argument:("+strings.Join(c.Words, " ")+")"))
		} else {
			b.WriteString("            '*:file:_files'\n        ;;\n")
		}
	}
	fmt.Fprintf(&b, "    esac\n}\ncompdef %s %s\n", fn(prog), prog)
	_, err := io.WriteString(w, b.String())
	return err
}

// fishQuote makes s one single-quoted fish word.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func fishCompletion(w io.Writer, prog string, cmds []CommandFlags) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# fish completion for %[1]s; load with: %[1]s completion fish | source\n", prog)
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c %s -n __fish_use_subcommand -f -a %s -d %s\n", prog, c.Name, fishQuote(firstClause(c.Summary)))
	}
	for _, c := range cmds {
		cond := fishQuote("__fish_seen_subcommand_from " + c.Name)
		for _, f := range visibleFlags(c.Flags) {
			line := fmt.Sprintf("complete -c %s -n %s -l %s", prog, cond, f.Name)
			if f.Shorthand != "" {
				line += " -s " + f.Shorthand
			}
			if f.NoOptDefVal == "" {
				line += " -r"
			}
			fmt.Fprintf(&b, "%s -d %s\n", line, fishQuote(firstClause(f.Usage)))
		}
		if c.Words != nil {
			fmt.Fprintf(&b, "complete -c %s -n %s -f -a %s\n", prog, cond, fishQuote(strings.Join(c.Words, " ")))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FlagsMarkdown writes the flag reference of prog's commands as Markdown:
// one table a command, flags in the order the command defines them.
func FlagsMarkdown(w io.Writer, prog string, cmds []CommandFlags) error {
	var b strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&b, "\n## %s %s\n\n%s.\n", prog, c.Name, mdText(c.Summary))
		flags := visibleFlags(c.Flags)
		if len(flags) == 0 {
			b.WriteString("\nNo flags.\n")
			continue
		}
		b.WriteString("\n| flag | value | default | meaning |\n|---|---|---|---|\n")
		for _, f := range flags {
			name := "`--" + f.Name + "`"
			if f.Shorthand != "" {
				name = "`-" + f.Shorthand + "`, " + name
			}
			typ := f.Value.Type()
			switch typ {
			case "bool":
				typ = ""
			case "func":
				typ = "value"
			case "stringArray":
				typ = "string, repeatable"
			}
			def := f.DefValue
			switch def {
			case "", "false", "[]":
				def = ""
			default:
				def = "`" + def + "`"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, typ, def, mdText(f.Usage))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdText keeps a usage text inside its table cell.
func mdText(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
