# syntax=docker/dockerfile:1
# Static, non-root image of scim-bridge:
#   docker build --build-arg VERSION=$(git describe --tags --always) -t scim-bridge .
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/scim-bridge ./cmd/scim-bridge

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scim-bridge /scim-bridge
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/scim-bridge"]
CMD ["serve", "--config", "/etc/scim-bridge/config.yaml"]
