package api

import (
	"path"
	"strings"
)

// FileType is what a file name's extension says about the file: its
// format (one of Formats, or "" for a file no format names) and its
// content type.
type FileType struct {
	Format      Format
	ContentType string
}

// extensions maps a lower-case extension to what it says. An entry with
// a format takes the format's content type (FormatContentType); the
// others name a content type only.
var extensions = map[string]FileType{
	// The formats, under their own names and their other spellings.
	"json": {Format: "json"}, "jsonl": {Format: "jsonl"}, "ndjson": {Format: "jsonl"},
	"arrow": {Format: "arrow"}, "feather": {Format: "arrow"}, "parquet": {Format: "parquet"},
	"msgpack": {Format: "msgpack"}, "mpk": {Format: "msgpack"}, "xml": {Format: "xml"},
	"csv": {Format: "csv"}, "xls": {Format: "xls"}, "jpeg": {Format: "jpeg"}, "jpg": {Format: "jpeg"},
	"png": {Format: "png"}, "wav": {Format: "wav"}, "mov": {Format: "mov"}, "mp4": {Format: "mp4"},
	"pdf": {Format: "pdf"}, "html": {Format: "html"}, "htm": {Format: "html"},
	"txt": {Format: "txt"}, "md": {Format: "md"}, "markdown": {Format: "md"},
	"safetensors": {Format: "safetensors"}, "gguf": {Format: "gguf"}, "onnx": {Format: "onnx"},
	"pt": {Format: "pt"}, "pth": {Format: "pt"}, "pkl": {Format: "pkl"}, "pickle": {Format: "pkl"},
	"npy": {Format: "npy"}, "npz": {Format: "npz"}, "h5": {Format: "h5"}, "hdf5": {Format: "h5"},
	"yaml": {Format: "yaml"}, "yml": {Format: "yaml"},

	// Content types only.
	"xlsx":  {ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	"tsv":   {ContentType: "text/tab-separated-values"},
	"log":   {ContentType: "text/plain"},
	"toml":  {ContentType: "application/toml"},
	"py":    {ContentType: "text/x-python"},
	"ipynb": {ContentType: "application/x-ipynb+json"},
	"gif":   {ContentType: "image/gif"},
	"webp":  {ContentType: "image/webp"},
	"svg":   {ContentType: "image/svg+xml"},
	"tif":   {ContentType: "image/tiff"},
	"tiff":  {ContentType: "image/tiff"},
	"mp3":   {ContentType: "audio/mpeg"},
	"flac":  {ContentType: "audio/flac"},
	"webm":  {ContentType: "video/webm"},
	"zip":   {ContentType: "application/zip"},
	"gz":    {ContentType: "application/gzip"},
	"tgz":   {ContentType: "application/gzip"},
	"tar":   {ContentType: "application/x-tar"},
	"zst":   {ContentType: "application/zstd"},
	"lz4":   {ContentType: "application/x-lz4"},
	"bin":   {ContentType: "application/octet-stream"},
}

// TypeByName returns what the extension of the last segment of name (an
// artifact name or a file name; the extension in any letter case) says,
// and false when it says nothing.
func TypeByName(name string) (FileType, bool) {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	i := strings.LastIndexByte(base, '.')
	if i <= 0 || i == len(base)-1 {
		return FileType{}, false // no extension; a dot file (".env") has none
	}
	t, ok := extensions[strings.ToLower(base[i+1:])]
	if !ok {
		return FileType{}, false
	}
	if t.Format != "" {
		t.ContentType, _ = FormatContentType(t.Format)
	}
	return t, true
}

// FormatByName returns the format the extension of name says, or "".
func FormatByName(name string) Format {
	t, _ := TypeByName(name)
	return t.Format
}
