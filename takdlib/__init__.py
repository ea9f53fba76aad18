from .models import build_model
