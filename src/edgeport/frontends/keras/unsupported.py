"""What the Keras frontend tells a user whose model holds a layer it has no rule for: where
the supported layers are listed (docs/keras-layers.md, and ``edgeport inspect MODEL`` for one
model's layers) and, for the layers people most often ask for, the nearest way to write the
same computation with layers that convert."""

from __future__ import annotations

LAYERS_PAGE = "docs/keras-layers.md"

_AS_2D = "{two_d} on a Reshape to (steps, 1, channels), then a Reshape back"
_RECURRENT = ("not converted yet (in progress); LSTM, GRU, SimpleRNN and RNN of their cells "
              "convert")
_PREPROCESSING = ("preprocessing layers are not converted: run them on the data before the "
                  "model")
_AUGMENTATION = ("augmentation layers do nothing at inference: build the model to save "
                 "without them")

NEAREST = {
    "Conv1DTranspose": _AS_2D.format(two_d="Conv2DTranspose with a (k, 1) kernel"),
    "SeparableConv1D": _AS_2D.format(two_d="SeparableConv2D with a (k, 1) kernel"),
    "DepthwiseConv1D": _AS_2D.format(two_d="DepthwiseConv2D with a (k, 1) kernel"),
    "GroupQueryAttention": "MultiHeadAttention converts (each head with its own key and value)",
    **dict.fromkeys(("ConvLSTM1D", "ConvLSTM2D"), _RECURRENT),
    **dict.fromkeys(("StringLookup", "IntegerLookup", "TextVectorization", "Hashing",
                     "CategoryEncoding", "Discretization"), _PREPROCESSING),
    "ops.NotEqual": ("Keras records this comparison for the mask of an Embedding with "
                     "mask_zero=True; masks are not converted yet"),
    **dict.fromkeys(("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                     "RandomContrast", "RandomBrightness"), _AUGMENTATION),
    "RandomCrop": ("not a no-op at inference: it resizes as Resizing(crop_to_aspect_ratio="
                   "True), which is not converted either"),
}


def no_rule_reason(key: str) -> str:
    """Why a layer whose rule key (`layers.rule_key`: its class name, ``ops.<Class>`` for an
    operation) is ``key`` is refused, with the nearest alternative where there is one and
    where to read what converts."""
    nearest = NEAREST.get(key)
    hint = f" ({nearest})" if nearest else ""
    return (f"edgeport has no rule for this layer{hint}; {LAYERS_PAGE} lists the layers it "
            "converts")
