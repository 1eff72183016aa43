package httpapi

import (
	"errors"
	"strings"

	"seatledger/commands"
	"seatledger/domain/account"
	"seatledger/domain/installation"
	"seatledger/domain/invalid"
	"seatledger/domain/licensekey"
	"seatledger/domain/mdm"
	"seatledger/domain/person"
	"seatledger/domain/product"
	"seatledger/domain/release"
	"seatledger/domain/staff"
	"seatledger/domain/subscription"
	"seatledger/domain/ticket"
	"seatledger/domain/webhook"
	"seatledger/infra/access"
	"seatledger/infra/attachments"
	"seatledger/infra/offline"
	"seatledger/infra/session"
	"seatledger/queries"
)

// domainErrors maps each domain error to its stable problem type and, when
// the error is always about one field of the request, that field. Every
// error a client can provoke has a row; the first match wins, so a more
// specific error comes before a general one.
var domainErrors = []struct {
	err   error
	typ   ProblemType
	field string
}{
	{person.ErrBadCredentials, ProblemBadCredentials, ""},
	{staff.ErrBadCredentials, ProblemBadCredentials, ""},
	{staff.ErrEnrolled, ProblemLinkUsed, ""},
	{staff.ErrEmailTaken, ProblemEmailTaken, "email"},
	{staff.ErrLastOwner, ProblemLastOwner, ""},
	{staff.ErrForbidden, ProblemForbidden, ""},
	{staff.ErrNotFound, ProblemNotFound, ""},
	{staff.ErrNoChange, ProblemNoChange, ""},
	{staff.ErrInvalid, ProblemInvalidRequest, ""},
	{person.ErrEmailTaken, ProblemEmailTaken, "email"},
	{person.ErrWeakPassword, ProblemWeakPassword, "password"},
	{person.ErrTerms, ProblemTermsNotAccepted, "accept_terms"},
	{person.ErrBadLink, ProblemInvalidLink, "token"},
	{person.ErrInvalid, ProblemInvalidRequest, ""},
	{person.ErrExists, ProblemExists, ""},
	{person.ErrVerified, ProblemNoChange, ""},
	{person.ErrNoChange, ProblemNoChange, ""},
	{person.ErrTooManyTokens, ProblemTooManyTokens, ""},
	{person.ErrNoToken, ProblemNotFound, ""},
	{person.ErrNotFound, ProblemNotFound, ""},
	{account.ErrLastAdmin, ProblemLastAdmin, ""},
	{account.ErrForbidden, ProblemForbidden, ""},
	{account.ErrNotFound, ProblemNotFound, ""},
	{account.ErrNotMember, ProblemNotMember, ""},
	{account.ErrAlreadyMember, ProblemAlreadyMember, ""},
	{account.ErrNoChange, ProblemNoChange, ""},
	{account.ErrExists, ProblemExists, "account_id"},
	{account.ErrInvalidCompany, ProblemInvalidRequest, ""},
	{account.ErrInvalidInvitation, ProblemInvalidRequest, ""},
	{account.ErrInvalid, ProblemInvalidRequest, ""},
	{account.ErrNoInvitation, ProblemInvalidLink, "token"},
	{account.ErrInvitationUsed, ProblemLinkUsed, ""},
	{account.ErrInvitationExpired, ProblemLinkExpired, ""},
	{account.ErrInvitationAddress, ProblemInvitationAddress, ""},
	{session.ErrNoSession, ProblemUnauthorized, ""},
	{access.ErrSignInRequired, ProblemUnauthorized, ""},
	{access.ErrResetsUnavailable, ProblemUnavailable, ""},
	{subscription.ErrKeyFormat, ProblemKeyFormat, "key"},
	{commands.ErrUnknownKey, ProblemUnknownKey, "key"},
	{subscription.ErrInvalidOrder, ProblemInvalidOrder, ""},
	{subscription.ErrOrderMismatch, ProblemOrderMismatch, "order_id"},
	{subscription.ErrRegistered, ProblemKeyRegistered, "key"},
	{subscription.ErrNotRegistered, ProblemNotRegistered, ""},
	{subscription.ErrQuota, ProblemQuota, "quota"},
	{subscription.ErrReseller, ProblemReseller, "on"},
	{subscription.ErrExpired, ProblemExpired, ""},
	{subscription.ErrPermanent, ProblemPermanent, ""},
	{subscription.ErrInvalid, ProblemInvalidRequest, ""},
	{subscription.ErrNoKey, ProblemNotFound, ""},
	{subscription.ErrNotFound, ProblemNotFound, ""},
	{subscription.ErrNoChange, ProblemNoChange, ""},
	{licensekey.ErrTaken, ProblemConflict, ""},
	{product.ErrInvalid, ProblemInvalidRequest, ""},
	{product.ErrModel, ProblemModelFixed, "model"},
	{product.ErrNotFound, ProblemNotFound, ""},
	{product.ErrNoChange, ProblemNoChange, ""},
	{queries.ErrInvalidScope, ProblemInvalidRequest, "scope"},
	{queries.ErrInvalidFilter, ProblemInvalidRequest, ""},
	{queries.ErrInvalidAuditQuery, ProblemInvalidRequest, ""},
	{queries.ErrUnknownEntity, ProblemNotFound, ""},
	{queries.ErrReadModelStopped, ProblemReadModelStopped, ""},
	{queries.ErrAuditUnavailable, ProblemUnavailable, ""},
	{queries.ErrNoEntitlement, ProblemNoEntitlement, ""},
	{queries.ErrNoSuchRelease, ProblemNotFound, "version"},
	{queries.ErrNotCaughtUp, ProblemUnavailable, ""},
	{mdm.ErrCSR, ProblemInvalidCSR, "csr"},
	{mdm.ErrNoEntitlement, ProblemNoEntitlement, ""},
	{mdm.ErrDuplicateSerial, ProblemConflict, ""},
	{release.ErrInvalid, ProblemInvalidRequest, ""},
	{release.ErrImmutable, ProblemReleaseImmutable, ""},
	{release.ErrWithdrawn, ProblemReleaseImmutable, ""},
	{release.ErrNotFound, ProblemNotFound, "version"},
	{webhook.ErrInvalid, ProblemInvalidRequest, ""},
	{webhook.ErrNotFound, ProblemNotFound, ""},
	{webhook.ErrLimit, ProblemTooManyWebhooks, ""},
	{ticket.ErrInvalid, ProblemInvalidRequest, ""},
	{ticket.ErrNotFound, ProblemNotFound, ""},
	{ticket.ErrStatus, ProblemTicketStatus, ""},
	{ticket.ErrNoChange, ProblemNoChange, ""},
	{ticket.ErrNotAdmin, ProblemWatcherNotAdmin, "person_id"},
	{attachments.ErrTooLarge, ProblemAttachmentTooLarge, "attachments"},
	{attachments.ErrType, ProblemAttachmentType, "attachments"},
	{attachments.ErrTooMany, ProblemAttachmentRejected, "attachments"},
	{attachments.ErrEmpty, ProblemAttachmentRejected, "attachments"},
	{attachments.ErrName, ProblemAttachmentRejected, "attachments"},
	{attachments.ErrNotFound, ProblemNotFound, ""},
	{attachments.ErrUnavailable, ProblemUnavailable, ""},
	{attachments.ErrRead, ProblemInvalidRequest, "attachments"},
	{installation.ErrDeactivated, ProblemDeactivated, ""},
	{installation.ErrTrialEnded, ProblemDeactivated, ""},
	{installation.ErrTrialUsed, ProblemTrialUsed, ""},
	{installation.ErrModel, ProblemModelMismatch, "key"},
	{installation.ErrOverLimit, ProblemOverLimit, "computers"},
	{installation.ErrReplayed, ProblemReplayed, "file"},
	{installation.ErrInvalid, ProblemInvalidRequest, ""},
	{installation.ErrNotFound, ProblemNotFound, ""},
	{installation.ErrNoChange, ProblemNoChange, ""},
	{licensekey.ErrInUse, ProblemKeyInUse, "key"},
	{licensekey.ErrChangesUsedUp, ProblemKeyChanges, "key"},
	{licensekey.ErrNotIssued, ProblemUnknownKey, "key"},
	{commands.ErrOfflineDisabled, ProblemOfflineDisabled, ""},
	{commands.ErrNoTrial, ProblemNoTrial, "product_id"},
	{commands.ErrCredential, ProblemUnauthorized, ""},
	{offline.ErrMalformed, ProblemOfflineFile, "file"},
	{offline.ErrKind, ProblemOfflineFile, "file"},
	{offline.ErrSignature, ProblemOfflineRejected, "file"},
	{offline.ErrExpired, ProblemOfflineRejected, "file"},
	{offline.ErrFuture, ProblemOfflineRejected, "file"},
}

// domainProblem returns the problem of a domain error, or nil. The detail
// is the error's message without its package prefix.
func domainProblem(err error) *Problem {
	for _, d := range domainErrors {
		if !errors.Is(err, d.err) {
			continue
		}
		msg := err.Error()
		if i := strings.Index(msg, ": "); i > 0 && !strings.Contains(msg[:i], " ") {
			msg = msg[i+2:] // "account: …" → "…"
		}
		p := d.typ.New("%s", msg)
		var (
			fields *invalid.Error
			input  *queries.InputError
		)
		switch {
		case errors.As(err, &input):
			p.Field(input.InvalidField())
		case errors.As(err, &fields):
			for _, f := range fields.Fields {
				if f.Name != "" {
					p.InvalidParams = append(p.InvalidParams, InvalidParam{Name: f.Name, Reason: f.Reason})
				}
			}
		case d.field != "":
			p.Field(d.field)
		}
		return p
	}
	return nil
}
