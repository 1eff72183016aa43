package main

import (
	"errors"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"seatledger/infra/config"
	"seatledger/infra/mail"
)

func init() { register(newMailCommand) }

// newMailCommand is `ledger mail`: the local outbox, decoded. Without an
// SMTP server ledgerd writes each mail as a .eml file; read raw, a
// quoted-printable body breaks its links (earlier versions wrote every
// file so), and the subject of a German mail is RFC 2047 text.
func newMailCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mail",
		Short: "List and read the mail ledgerd wrote to its mail folder (no SMTP server set)",
		Long: `Without LEDGER_SMTP_URL, ledgerd writes every mail (verification, invitations,
password resets, grace and suspension notices …) as a .eml file to its mail
folder, --mail-dir or $` + config.EnvMailDir + `, else ` + config.DefaultMailDir + `.
These commands read them decoded, with their links whole.`,
	}
	commandGroup(cmd)
	cmd.PersistentFlags().String("mail-dir", "", "ledgerd's mail folder (default $"+config.EnvMailDir+", else "+config.DefaultMailDir+")")
	list := &cobra.Command{
		Use:   "list",
		Short: "One line per mail, oldest first: ID, date (ledger time), recipient, subject",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mails, err := readOutbox(cmd, a)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tDATE\tTO\tSUBJECT")
			for _, m := range mails {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.ID, formatTime(m.Date), m.To, m.Subject)
			}
			return w.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show ID|FILE…",
		Short: "Print mails decoded: date, sender, recipient, subject and the text with its links",
		Long: `Print each mail named by its ID (as ledger mail list shows it, or the start of
one), its file name or its path; --last prints the newest, --to the mails to
one address only.`,
		Example: "  ledger mail show 9d87565c97a3\n  ledger mail show --last --to andrew.palmer@example.com",
		RunE: func(cmd *cobra.Command, args []string) error {
			last, _ := cmd.Flags().GetBool("last")
			if last == (len(args) > 0) {
				return usagef("name the mails to show (ID or file), or give --last")
			}
			mails, err := readOutbox(cmd, a)
			if err != nil {
				return err
			}
			var chosen []mail.OutboxMail
			if last {
				if len(mails) == 0 {
					return errors.New("no mail to show")
				}
				chosen = mails[len(mails)-1:]
			}
			for _, arg := range args {
				m, err := findMail(mails, arg)
				if err != nil {
					return err
				}
				chosen = append(chosen, m)
			}
			for i, m := range chosen {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				printMail(a, m)
			}
			return nil
		},
	}
	show.Flags().Bool("last", false, "print the newest mail")
	for _, c := range []*cobra.Command{list, show} {
		c.Flags().String("to", "", "only the mails to this address")
		cmd.AddCommand(c)
	}
	return cmd
}

// readOutbox reads the mail folder, keeping the mails to --to.
func readOutbox(cmd *cobra.Command, a *app) ([]mail.OutboxMail, error) {
	dir, _ := setting(cmd, a, "mail-dir", config.EnvMailDir, config.DefaultMailDir)
	mails, err := mail.ReadOutbox(dir)
	if errors.Is(err, mail.ErrNoOutbox) {
		return nil, usagef("%v: ledgerd writes its mail there when %s is not set, once it has sent some; name its folder with --mail-dir or %s",
			err, config.EnvSMTPURL, config.EnvMailDir)
	}
	if err != nil {
		return nil, err
	}
	to, _ := cmd.Flags().GetString("to")
	if to == "" {
		return mails, nil
	}
	kept := mails[:0]
	for _, m := range mails {
		if strings.EqualFold(m.To, to) {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// findMail returns the one mail arg names: an ID or the start of one, a
// file name or a path.
func findMail(mails []mail.OutboxMail, arg string) (mail.OutboxMail, error) {
	var found []mail.OutboxMail
	for _, m := range mails {
		if m.Path == arg || filepath.Base(m.Path) == arg || filepath.Base(m.Path) == filepath.Base(arg) && sameFile(m.Path, arg) ||
			len(arg) >= 4 && strings.HasPrefix(m.ID, strings.ToLower(arg)) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 0:
		return mail.OutboxMail{}, usagef("no mail %q in the mail folder (ledger mail list shows their IDs)", arg)
	case 1:
		return found[0], nil
	}
	return mail.OutboxMail{}, usagef("%q names %d mails; give more of the ID", arg, len(found))
}

// decodedHeader returns a header field with its RFC 2047 words decoded
// (a name such as "Jürgen Müller").
func decodedHeader(m mail.OutboxMail, name string) string {
	v := m.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// sameFile reports whether the two paths name one file.
func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// printMail prints a mail as its recipient reads it.
func printMail(a *app, m mail.OutboxMail) {
	fmt.Fprintf(a.stdout, "Date:    %s\nFrom:    %s\nTo:      %s\nSubject: %s\nFile:    %s\n\n%s", formatTime(m.Date), decodedHeader(m, "From"),
		decodedHeader(m, "To"), m.Subject, m.Path, m.Body)
	if !strings.HasSuffix(m.Body, "\n") {
		fmt.Fprintln(a.stdout)
	}
}
