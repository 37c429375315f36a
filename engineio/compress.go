package engineio

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"strconv"
	"strings"
	"sync"
)

var (
	gzipPool sync.Pool // *gzip.Writer
	zlibPool sync.Pool // *zlib.Writer
)

// acceptedEncoding picks "gzip" or "deflate" from an Accept-Encoding header, as
// the npm accepts package would with ["gzip", "deflate"]: the highest q-value
// wins, gzip on a tie; "" when neither is acceptable.
func acceptedEncoding(header string) string {
	if header == "" {
		return ""
	}
	gz, df, star := -1.0, -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if params != "" {
			for p := range strings.SplitSeq(params, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(k, "q") {
					if f, err := strconv.ParseFloat(v, 64); err == nil {
						q = f
					}
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			gz = q
		case "deflate":
			df = q
		case "*":
			star = q
		}
	}
	if gz < 0 {
		gz = star
	}
	if df < 0 {
		df = star
	}
	switch {
	case gz > 0 && gz >= df:
		return "gzip"
	case df > 0:
		return "deflate"
	}
	return ""
}

// compressLevel is the level of HTTP compression: the fastest. At Go's other
// levels, resetting a writer for the next body clears over 600 KB of match
// tables, which for a poll body of a few KB costs more than compressing it
// (nginx's gzip uses level 1 by default too). The client decodes any level
// alike; Node's zlib bytes differ from ours at every level anyway.
const compressLevel = gzip.BestSpeed

// compress writes body to w with the given encoding ("gzip" or "deflate", the
// latter being the zlib format as Node's createDeflate writes it).
func compress(w io.Writer, encoding string, body []byte) error {
	if encoding == "gzip" {
		zw, _ := gzipPool.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(w, compressLevel)
		} else {
			zw.Reset(w)
		}
		defer gzipPool.Put(zw)
		if _, err := zw.Write(body); err != nil {
			return err
		}
		return zw.Close()
	}
	zw, _ := zlibPool.Get().(*zlib.Writer)
	if zw == nil {
		zw, _ = zlib.NewWriterLevel(w, compressLevel)
	} else {
		zw.Reset(w)
	}
	defer zlibPool.Put(zw)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	return zw.Close()
}
