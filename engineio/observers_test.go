package engineio

import "testing"

type countObserver struct{ calls, in, out int }

func (c *countObserver) SessionOpened(string)              { c.calls++ }
func (c *countObserver) SessionClosed(string, Reason)      { c.calls++ }
func (c *countObserver) Upgraded()                         { c.calls++ }
func (c *countObserver) Refused(Refusal)                   { c.calls++ }
func (c *countObserver) MessageIn(_ string, size int)      { c.calls++; c.in += size }
func (c *countObserver) MessagesOut(_ string, n, size int) { c.calls++; c.out += size }

func TestObserversFanOut(t *testing.T) {
	if Observers() != nil || Observers(nil, nil) != nil {
		t.Fatal("Observers of none is not nil")
	}
	a, b := &countObserver{}, &countObserver{}
	if Observers(nil, a) != Observer(a) {
		t.Fatal("Observers of one is not that one")
	}
	o := Observers(a, nil, b)
	o.SessionOpened(pollingName)
	o.SessionClosed(websocketName, ReasonTransportClose)
	o.Upgraded()
	o.Refused(RefusedOrigin)
	o.MessageIn(pollingName, 3)
	o.MessagesOut(pollingName, 2, 5)
	for _, c := range []*countObserver{a, b} {
		if c.calls != 6 || c.in != 3 || c.out != 5 {
			t.Fatalf("observer saw %+v", *c)
		}
	}
}
