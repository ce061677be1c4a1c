# Warta: news-digest bot. Build: docker build -t warta .
# Run:   docker run -e TELEGRAM_BOT_TOKEN=... -e DISCORD_BOT_TOKEN=... -v warta-data:/app/data warta
# Secrets come only from the environment; none are baked into the image.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m venv /opt/warta && /opt/warta/bin/pip install --no-cache-dir .

FROM python:3.12-slim
ENV PATH="/opt/warta/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WARTA_HEARTBEAT_FILE=/tmp/warta.heartbeat
RUN groupadd --gid 10001 warta && useradd --create-home --uid 10001 --gid 10001 warta
COPY --from=build /opt/warta /opt/warta
WORKDIR /app
COPY --chown=warta:warta config ./config
RUN mkdir -p /app/data && chown warta:warta /app/data
USER 10001:10001
VOLUME ["/app/data"]
# The web face (archive, feeds, /stats, /healthz, /metrics) when web_enabled is set. Inside a
# container it must bind beyond loopback to be reachable: WARTA_WEB_ENABLED=true
# WARTA_WEB_HOST=0.0.0.0, published only to the reverse proxy (e.g. -p 127.0.0.1:8080:8080).
EXPOSE 8080
# Healthy while the scheduler keeps its heartbeat file fresh (every few seconds) and no chat
# adapter has been down longer than adapter_down_unhealthy_s (see `warta health`).
HEALTHCHECK --interval=60s --timeout=5s --start-period=60s --retries=3 \
  CMD ["warta", "health"]
ENTRYPOINT ["warta"]
CMD ["run"]
