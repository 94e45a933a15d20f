# One image for web, worker and beat (docker-compose.yml chooses the command).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# The runtime set only: the test and lint tools (requirements-dev.txt) stay out of the image.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic needs settings to import; these values exist only for this build step.
RUN DEBUG=0 SECRET_KEY=build-only-not-secret python manage.py collectstatic --noinput
RUN useradd --system --home /app pacttracker && mkdir -p /app/var && chown pacttracker /app/var
USER pacttracker
EXPOSE 8000
CMD ["gunicorn", "pacttracker.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
