package installation

import "time"

// Evolve applies one event recorded at at.
func (i Installation) Evolve(payload any, at time.Time) Installation {
	switch e := payload.(type) {
	case Activated:
		i.id, i.identity, i.mode = e.InstallationID, e.Identity, e.Mode
		i.keyID, i.keyHint, i.subscriptionID, i.accountID = e.KeyID, e.KeyHint, e.SubscriptionID, e.AccountID
		i.productID, i.model, i.trial, i.trialEnd = e.ProductID, e.Model, e.License.Trial, e.TrialEnd
		// A repeat of the activation it holds (a new app version, an
		// offline request) keeps its status: it does not lift a suspension
		// for overuse (USE-4) or a deactivation pending in the portal (ACT-7).
		if e.Generation != i.generation || !i.Licensed() {
			i.activatedAt, i.status = at, Active
			i.detected, i.overLimit, i.alerts = false, false, 0
		}
		i.generation, i.license = e.Generation, e.License
		i.remember(e.Nonce)
	case Refreshed:
		i.license = e.License
		i.remember(e.Nonce)
	case UsageReported:
		if e.Current {
			i.lastObserved, i.lastReport, i.seats = e.ObservedAt, at, e.Seats
			i.peak = max(i.peak, e.Seats)
		}
	case DeactivationRequested:
		i.status = Pending
	case Deactivated:
		i.status = Inactive
		i.detected, i.overLimit = false, false
		i.remember(e.Nonce)
	case NotesSet:
		i.notes = e.Notes
	case GraceStarted:
		i.graceUsed, i.graceQuota, i.graceEnds = true, e.Quota, e.Ends
		i.detected = false
	case OveruseDetected:
		i.detected, i.deactivateAt = true, e.DeactivateAt
	case OveruseCleared:
		i.detected = false
	case Suspended:
		i.detected, i.status = false, SuspendedStatus
	case Resumed:
		i.status = Active
	case OverLimitStarted:
		i.overLimit, i.alerts = true, 0
	case OverLimitAlerted:
		i.alerts = e.Alert
	case OverLimitEnded:
		i.overLimit, i.alerts = false, 0
	case ReportRefused:
		i.lastRefused = at
	case Enrolled:
		i.seats, i.peak = e.Managed, max(i.peak, e.Managed)
	}
	i.version++
	return i
}

// remember records a used offline nonce; the map is copied first, since
// folded states share it (Clone).
func (i *Installation) remember(nonce string) {
	if nonce == "" {
		return
	}
	n := make(map[string]bool, len(i.nonces)+1)
	for k := range i.nonces {
		n[k] = true
	}
	n[nonce] = true
	i.nonces = n
}
