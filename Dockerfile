# syntax=docker/dockerfile:1
# Static, non-root image of scim-bridge:
#   docker build --build-arg VERSION=$(git describe --tags --always) -t scim-bridge .
# The builder runs on the build machine's platform and cross-compiles, and the
# final stage runs nothing, so a multi-arch build needs no emulation:
#   docker buildx build --platform linux/amd64,linux/arm64 ...
# Base images are pinned by digest (Dependabot proposes new ones); the Go
# image's version is the one go.mod names.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/scim-bridge ./cmd/scim-bridge

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="gainsight-scim-bridge" \
      org.opencontainers.image.description="SCIM 2.0 service provider that provisions users from any identity provider into Gainsight" \
      org.opencontainers.image.source="https://github.com/gainsight-scim-bridge/gainsight-scim-bridge" \
      org.opencontainers.image.url="https://github.com/gainsight-scim-bridge/gainsight-scim-bridge" \
      org.opencontainers.image.documentation="https://github.com/gainsight-scim-bridge/gainsight-scim-bridge#kubernetes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/scim-bridge /scim-bridge
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/scim-bridge"]
CMD ["serve", "--config", "/etc/scim-bridge/config.yaml"]
