package engineio

// Observers returns an Observer that calls each non-nil one of obs in turn,
// for a server watched by several (metrics.Counters and the admin UI's
// admin.EngineObserver, say); nil when none is set, so that an unset
// Observer still costs only a nil check.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) SessionOpened(transport string) {
	for _, o := range m {
		o.SessionOpened(transport)
	}
}

func (m multiObserver) SessionClosed(transport string, reason Reason) {
	for _, o := range m {
		o.SessionClosed(transport, reason)
	}
}

func (m multiObserver) Upgraded() {
	for _, o := range m {
		o.Upgraded()
	}
}

func (m multiObserver) Refused(cause Refusal) {
	for _, o := range m {
		o.Refused(cause)
	}
}

func (m multiObserver) MessageIn(transport string, size int) {
	for _, o := range m {
		o.MessageIn(transport, size)
	}
}

func (m multiObserver) MessagesOut(transport string, n, size int) {
	for _, o := range m {
		o.MessagesOut(transport, n, size)
	}
}
