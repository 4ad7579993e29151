from django.apps import AppConfig


class HallsConfig(AppConfig):
    """Floor 2: service halls (政务服务中心, 便民服务中心) and their 通办 windows (专窗) — what
    each window receives (入驻: lists and items), the clerks assigned to it, and the counter
    consultations (咨询辅导) recorded at it."""

    name = "halls"
    verbose_name = "政务服务大厅"
