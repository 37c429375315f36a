package engineio

// Message is one Engine.IO message: text (UTF-8) or binary application data.
//
// A Message handed to Session.Send is kept by the session until it is written, so
// the caller must not modify Data afterwards. A Message returned by Session.Read
// owns its Data.
type Message struct {
	Binary bool
	Data   []byte
}
