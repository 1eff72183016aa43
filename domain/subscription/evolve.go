package subscription

// Evolve returns the subscription with one more recorded event applied.
// Like account.Evolve it writes into the maps the value shares: fold
// into a value only you hold (the zero Subscription or a Clone).
func (s Subscription) Evolve(payload any) Subscription {
	if s.orders == nil {
		s.orders = map[string]string{}
	}
	if s.keys == nil {
		s.keys = map[string]Key{}
	}
	switch e := payload.(type) {
	case Purchased:
		s.id, s.productID, s.seats, s.period, s.channel, s.supportPlan = e.SubscriptionID, e.ProductID, e.Seats, e.Period, e.Channel, e.SupportPlan
		s.start, s.end, s.autoRenew, s.status = e.Start, e.End, e.AutoRenew, Active
		s.orders[e.OrderID] = e.OrderDigest
		s.licensedMajor = e.LicensedMajor
		if e.InsuranceEnd != nil {
			s.insuranceEnd = *e.InsuranceEnd
		}
		s.primary = e.PrimaryKey.KeyID
		s.keys[s.primary] = Key{ID: s.primary, Type: Primary, Name: "Primary", Lookup: e.PrimaryKey.Lookup, Sealed: e.PrimaryKey.Sealed, Hint: e.PrimaryKey.Hint}
	case SeatsAdded:
		s.orders[e.OrderID] = e.OrderDigest
		s.seats += e.Seats
	case Renewed:
		s.orders[e.OrderID] = e.OrderDigest
		if e.InsuranceEnd != nil { // a permanent license's insurance
			s.insuranceEnd = *e.InsuranceEnd
			break
		}
		s.end, s.period, s.status = e.End, e.Period, Active
	case Cancelled:
		s.orders[e.OrderID] = e.OrderDigest
		s.cancelled, s.autoRenew = true, false
	case Registered:
		s.accountID = e.AccountID
	case Renamed:
		s.name = e.Name
	case AutoRenewSet:
		s.autoRenew = e.On
	case GraceStarted:
		s.status = InGrace
	case Expired:
		s.status = Ended
	case SublicenseCreated:
		s.keys[e.Key.KeyID] = Key{ID: e.Key.KeyID, Type: Reserved, Name: e.Name, Quota: e.Quota,
			Lookup: e.Key.Lookup, Sealed: e.Key.Sealed, Hint: e.Key.Hint, ExpiresAt: e.ExpiresAt}
	case SublicenseChanged:
		k := s.keys[e.KeyID]
		k.Quota, k.ExpiresAt = e.Quota, e.ExpiresAt
		k.InGrace = false // KEY-3: a new expiry (in the future) ends a grace
		s.keys[e.KeyID] = k
	case SublicenseGraceStarted:
		k := s.keys[e.KeyID]
		k.InGrace = true
		s.keys[e.KeyID] = k
	case SublicenseExpired:
		k := s.keys[e.KeyID]
		k.InGrace, k.Expired, k.Quota = false, true, 0 // KEY-3: its seats return to the primary
		s.keys[e.KeyID] = k
	case SublicenseRenamed:
		k := s.keys[e.KeyID]
		k.Name = e.Name
		s.keys[e.KeyID] = k
	case SublicenseDeleted:
		delete(s.keys, e.KeyID)
	case AdministratorGranted:
		k := s.keys[e.KeyID]
		k.Administrators = cloneSet(k.Administrators)
		k.Administrators[e.PersonID] = true
		s.keys[e.KeyID] = k
	case AdministratorRevoked:
		k := s.keys[e.KeyID]
		k.Administrators = cloneSet(k.Administrators)
		delete(k.Administrators, e.PersonID)
		s.keys[e.KeyID] = k
	}
	if p, ok := s.keys[s.primary]; ok {
		p.Quota = s.Free() // rule KEY-4
		s.keys[s.primary] = p
	}
	s.version++
	return s
}

func cloneSet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
