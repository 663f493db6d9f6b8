module tamanet

go 1.27.1

require (
	github.com/usbarmory/tamago v1.27.1
	gvisor.dev/gvisor v0.0.0-20260701204157-69c2d17aea96
)
