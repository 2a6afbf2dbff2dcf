package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gainsight-scim-bridge/gainsight-scim-bridge/config"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("chartschema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("schema", "charts/scim-bridge/values.schema.json", "the chart's values.schema.json to update")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	old, err := os.ReadFile(*path)
	if err != nil {
		fmt.Fprintf(stderr, "chartschema: %v\n", err)
		return 1
	}
	updated, err := splice(old, config.JSONSchema())
	if err != nil {
		fmt.Fprintf(stderr, "chartschema: %s: %v\n", *path, err)
		return 1
	}
	if bytes.Equal(old, updated) {
		return 0
	}
	if err := os.WriteFile(*path, updated, 0o644); err != nil {
		fmt.Fprintf(stderr, "chartschema: %v\n", err)
		return 1
	}
	return 0
}

// configIndent is the indentation of the "config" property of the values
// schema: the second level of the document.
const configIndent = "    "

// splice returns doc, a JSON Schema of the chart's values, with the value of
// its top-level properties.config replaced by schema. Every other byte of
// doc is kept, so the hand-written part keeps its order and layout.
func splice(doc []byte, schema *config.Schema) ([]byte, error) {
	start, end, err := configValue(doc)
	if err != nil {
		return nil, err
	}
	gen, err := json.MarshalIndent(schema, configIndent, "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the config schema: %w", err)
	}
	out := make([]byte, 0, len(doc)-(end-start)+len(gen))
	out = append(out, doc[:start]...)
	out = append(out, gen...)
	out = append(out, doc[end:]...)
	if !json.Valid(out) {
		return nil, errors.New("spliced schema is not valid JSON")
	}
	return out, nil
}

// configValue returns the byte range of the value of properties.config in
// the top-level object of doc.
func configValue(doc []byte) (start, end int, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := expectDelim(dec, '{'); err != nil {
		return 0, 0, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, 0, err
		}
		if key != "properties" {
			if err := skipValue(dec); err != nil {
				return 0, 0, err
			}
			continue
		}
		if err := expectDelim(dec, '{'); err != nil {
			return 0, 0, fmt.Errorf("properties: %w", err)
		}
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return 0, 0, err
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return 0, 0, err
			}
			if name == "config" {
				end := int(dec.InputOffset())
				return end - len(raw), end, nil
			}
		}
		break
	}
	return 0, 0, errors.New(`no top-level properties.config to replace`)
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("want %q, got %v", d, tok)
	}
	return nil
}

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}
