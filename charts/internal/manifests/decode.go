package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	sigsyaml "sigs.k8s.io/yaml"
)

// Object is one decoded manifest.
type Object struct {
	// GVK is the object's group, version and kind as written.
	GVK schema.GroupVersionKind
	// Name is metadata.name.
	Name string
	// Obj is the typed object (*appsv1.Deployment, *monitoringv1.ServiceMonitor, …).
	Obj runtime.Object
}

// Decoder decodes the built-in Kubernetes kinds and the Prometheus
// Operator's monitoring.coreos.com/v1 kinds.
type Decoder struct {
	decoder runtime.Decoder
}

// NewDecoder returns a strict Decoder.
func NewDecoder() (*Decoder, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("manifests: register built-in kinds: %w", err)
	}
	if err := monitoringv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("manifests: register monitoring kinds: %w", err)
	}
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	return &Decoder{decoder: s}, nil
}

// DecodeAll splits data into YAML documents and decodes each one into its
// typed object. Empty documents (only comments or whitespace) are skipped.
// An unknown kind, an unknown or duplicate field, or a document without
// metadata.name is an error naming the document.
func (d *Decoder) DecodeAll(data []byte) ([]Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifests: read document %d: %w", i, err)
		}
		if isEmpty(doc) {
			continue
		}
		obj, gvk, err := d.decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("manifests: document %d (%s): %w", i, firstLines(doc), err)
		}
		name, err := objectName(obj)
		if err != nil {
			return nil, fmt.Errorf("manifests: document %d (%s): %w", i, gvk.Kind, err)
		}
		out = append(out, Object{GVK: *gvk, Name: name, Obj: obj})
	}
}

// isEmpty reports whether a document holds no YAML value.
func isEmpty(doc []byte) bool {
	var v any
	if err := sigsyaml.Unmarshal(doc, &v); err != nil {
		return false // let the decoder report it
	}
	return v == nil
}

func objectName(obj runtime.Object) (string, error) {
	m, ok := obj.(interface{ GetName() string })
	if !ok {
		return "", fmt.Errorf("object %T has no metadata", obj)
	}
	if m.GetName() == "" {
		return "", errors.New("metadata.name is empty")
	}
	return m.GetName(), nil
}

func firstLines(doc []byte) string {
	lines := strings.SplitN(strings.TrimSpace(string(doc)), "\n", 4)
	if len(lines) > 3 {
		lines = lines[:3]
	}
	return strings.Join(lines, " | ")
}
