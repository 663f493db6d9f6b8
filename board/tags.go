//go:build tamago && !linkcpuinit

package board

// The board brings its own CPU start-up (cpuinit_amd64.s): build images with
// -tags linkcpuinit, which also leaves out the tamago amd64 package's.
var _ = build_images_with_tags_linkcpuinit
