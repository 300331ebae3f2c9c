# Release builds: one static binary per platform in dist/, with checksums.
#   make dist                 # version from `git describe`
#   make dist VERSION=v1.0.0
# The binaries need no C library (CGO_ENABLED=0) and run as they are.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
# A provider that distributes mailferry with its own OAuth client IDs adds
# them here (see docs/oauth.md):
#   make dist OAUTH_LDFLAGS="-X main.oauthMicrosoftClientID=... -X main.oauthGoogleClientID=... -X main.oauthGoogleClientSecret=..."
OAUTH_LDFLAGS ?=
LDFLAGS := -s -w -X main.version=$(VERSION) $(OAUTH_LDFLAGS)

.PHONY: dist test vet clean

dist:
	@rm -rf dist && mkdir -p dist
	@for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		out=dist/mailferry-$(VERSION)-$$os-$$arch$$ext; \
		echo "build $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" -o $$out ./cmd/mailferry || exit 1; \
	done
	@cd dist && sha256sum mailferry-* > SHA256SUMS && cat SHA256SUMS

vet:
	go vet ./...
	GOOS=windows go vet ./...
	GOOS=darwin go vet ./...

test: vet
	go test -race -shuffle=on -timeout 20m ./...

clean:
	rm -rf dist
