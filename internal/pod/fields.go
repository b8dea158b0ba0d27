package pod

import (
	"fmt"
	"sort"
	"strings"
)

// fieldNode is one level of an allow-list: the honoured child fields.
// A node without children honours its whole subtree. Lists are transparent:
// the elements of a list field are checked against the field's own node.
type fieldNode struct {
	children map[string]*fieldNode
}

// newAllowList builds a tree from dotted paths ("spec.containers.name");
// "*" matches any map key (labels, data).
func newAllowList(paths ...string) *fieldNode {
	root := &fieldNode{children: map[string]*fieldNode{}}
	for _, p := range paths {
		n := root
		for _, part := range strings.Split(p, ".") {
			if n.children == nil {
				n.children = map[string]*fieldNode{}
			}
			c := n.children[part]
			if c == nil {
				c = &fieldNode{}
				n.children[part] = c
			}
			n = c
		}
	}
	return root
}

// prefixed returns paths with prefix+"." in front of each.
func prefixed(prefix string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = prefix + "." + p
	}
	return out
}

// walkAllowed reports every field of obj outside the allow-list, once per
// unhonoured subtree, in a stable order.
func walkAllowed(n *fieldNode, obj any) []Warning {
	var ws []Warning
	walk(n, obj, "", &ws)
	return ws
}

func walk(n *fieldNode, v any, path string, ws *[]Warning) {
	if n == nil || n.children == nil {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			c := n.children[k]
			if c == nil {
				c = n.children["*"]
			}
			if c == nil {
				if isEmpty(t[k]) {
					continue // "nodeSelector: {}" asks for nothing
				}
				*ws = append(*ws, Warning{Path: p, Reason: "not supported by dockerlet; ignored"})
				continue
			}
			walk(c, t[k], p, ws)
		}
	case []any:
		for i, e := range t {
			walk(n, e, fmt.Sprintf("%s[%d]", path, i), ws)
		}
	}
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}
