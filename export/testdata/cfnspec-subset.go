//go:build ignore

// Command cfnspec-subset keeps, of the CloudFormation resource
// specification, the resource types given and every property type they
// reach, without the documentation links: what export's tests check
// templates against. Run by update-cfnspec.sh.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

type prop struct {
	Required          bool   `json:"Required"`
	PrimitiveType     string `json:"PrimitiveType,omitempty"`
	Type              string `json:"Type,omitempty"`
	ItemType          string `json:"ItemType,omitempty"`
	PrimitiveItemType string `json:"PrimitiveItemType,omitempty"`
}

type typ struct {
	Attributes map[string]prop `json:"Attributes,omitempty"`
	Properties map[string]prop `json:"Properties"`
}

type spec struct {
	ResourceSpecificationVersion string         `json:"ResourceSpecificationVersion"`
	PropertyTypes                map[string]typ `json:"PropertyTypes"`
	ResourceTypes                map[string]typ `json:"ResourceTypes"`
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: go run cfnspec-subset.go specification.json TYPE...")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var full spec
	if err := json.Unmarshal(data, &full); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out := spec{ResourceSpecificationVersion: full.ResourceSpecificationVersion,
		PropertyTypes: map[string]typ{}, ResourceTypes: map[string]typ{}}
	var reach func(owner string, props map[string]prop)
	reach = func(owner string, props map[string]prop) {
		for _, p := range props {
			for _, name := range []string{p.Type, p.ItemType} {
				if name == "" || name == "List" || name == "Map" {
					continue
				}
				key := owner + "." + name
				if _, ok := full.PropertyTypes[key]; !ok {
					key = name // global types such as Tag
				}
				pt, ok := full.PropertyTypes[key]
				if !ok {
					fmt.Fprintf(os.Stderr, "property type %s of %s not in the spec\n", name, owner)
					os.Exit(1)
				}
				if _, seen := out.PropertyTypes[key]; !seen {
					out.PropertyTypes[key] = pt
					reach(owner, pt.Properties)
				}
			}
		}
	}
	for _, t := range os.Args[2:] {
		rt, ok := full.ResourceTypes[t]
		if !ok {
			fmt.Fprintf(os.Stderr, "resource type %s not in the spec\n", t)
			os.Exit(1)
		}
		out.ResourceTypes[t] = rt
		reach(t, rt.Properties)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(append(b, '\n'))
}
