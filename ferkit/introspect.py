"""Looking inside a model: its filters, a layer's activations and Grad-CAM, as arrays.

Lesson 01_convolution introduces :func:`filter_weights` and :func:`activations`;
lesson 08_evaluation introduces :func:`gradcam_heatmap`. :mod:`ferkit.plots` draws what
these functions return; nothing here draws.

Every function takes the model as built (Sequential or functional, a transfer model with its
backbone nested inside) and finds a layer by name, or the first or last convolution by
default. Images go in as uint8 or float faces; they are prepared for the model exactly as
:mod:`ferkit.pipeline` prepares a batch. The gradients of Grad-CAM come from the backend
Keras runs on (TensorFlow, JAX or PyTorch), so the module works on each.
"""

from __future__ import annotations

import numpy as np

__all__ = ["activations", "conv_layers", "filter_weights", "find_layer", "gradcam_heatmap", "layers_within"]


def _is_conv(layer) -> bool:
    import keras

    return isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D))


def layers_within(layer):
    """Yield the layers inside ``layer`` (a model or a layer), depth first, in order."""
    for inner in getattr(layer, "layers", []):
        yield inner
        yield from layers_within(inner)


def conv_layers(model):
    """The convolution layers of ``model``, nested models included, in order. Lesson 01_convolution."""
    return [layer for layer in layers_within(model) if _is_conv(layer)]


def find_layer(model, layer_name=None, last=False):
    """The layer of ``model`` called ``layer_name``, or its first (``last=False``) or last convolution.

    Looks inside nested models too. A ``ValueError`` lists the layer names when the name is
    unknown, or says so when the model has no convolution.
    """
    layers = list(layers_within(model))
    if layer_name is not None:
        for layer in layers:
            if layer.name == layer_name:
                return layer
        raise ValueError(
            f"layer_name: expected the name of a layer of model {model.name!r}, found {layer_name!r}; "
            f"its layers are {[layer.name for layer in layers]}"
        )
    convolutions = conv_layers(model)
    if not convolutions:
        raise ValueError(f"model: expected at least one convolution layer in {model.name!r}, found none")
    return convolutions[-1] if last else convolutions[0]


def filter_weights(model_or_layer, layer_name=None):
    """The kernel of a convolution layer (the first one by default) as float32 ``(kh, kw, in, out)``.

    ``model_or_layer`` is a model (the layer is found with :func:`find_layer`) or a
    convolution layer. Lesson 01_convolution.
    """
    layer = model_or_layer if _is_conv(model_or_layer) else find_layer(model_or_layer, layer_name, last=False)
    kernel = np.asarray(layer.get_weights()[0], dtype=np.float32)
    if kernel.ndim != 4:
        raise ValueError(f"layer {layer.name!r}: expected a (kh, kw, in, out) kernel, found shape {kernel.shape}")
    return kernel


def _one_image_batch(model, image):
    """One (H, W, C) face as the float32 batch of one that ``model`` expects."""
    from ferkit.pipeline import as_model_input

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image: expected one image of shape (H, W, C), found shape {image.shape}")
    return as_model_input(image[np.newaxis], model)


def _forward(model, inputs, target):
    """Run ``model`` on ``inputs``; return ``(output of layer target, model output)``.

    ``target`` may sit inside a nested model (e.g. the backbone of a transfer model).
    Sequential models run layer by layer; functional models through sub-models cut at
    ``target`` (or at the nested model that holds it).
    """
    import keras

    if isinstance(model, keras.Sequential):
        activation, x = None, inputs
        for layer in model.layers:
            if layer is target:
                x = activation = layer(x, training=False)
            elif any(inner is target for inner in layers_within(layer)):
                activation, x = _forward(layer, x, target)
            else:
                x = layer(x, training=False)
        return activation, x
    # A single input as a tensor, not a list of one: the structure callers pass.
    model_input = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    if target in model.layers and not isinstance(target, keras.Model):
        probe = keras.Model(model_input, [target.output, model.output])
        return probe(inputs, training=False)
    # The target is a nested model or lies inside one: cut the graph around the call of
    # that nested model ("container"): before -> container -> after.
    container = next(layer for layer in model.layers
                     if layer is target or any(inner is target for inner in layers_within(layer)))
    # A nested model's ``.output`` is its own internal tensor; the tensors of its call
    # inside ``model`` belong to one of its nodes (Keras-internal API).
    for node in container._inbound_nodes:
        try:
            before = keras.Model(model_input, node.input_tensors[0])
            after = keras.Model(node.output_tensors[0], model.output)
        except ValueError:
            continue
        x = before(inputs, training=False)
        if container is target:
            activation = container(x, training=False)
            return activation, after(activation, training=False)
        activation, x = _forward(container, x, target)
        return activation, after(x, training=False)
    raise ValueError(
        f"layer_name: cannot cut model {model.name!r} at {container.name!r}, which holds {target.name!r}; "
        "pass the name of a top-level layer"
    )


def _continuation(model, target):
    """A function from ``target``'s output to ``model``'s output.

    Backends without a gradient tape (JAX, PyTorch) differentiate this function. It cuts
    the graph after ``target``, which fails where a connection skips over the cut (the
    convolutions inside a residual block): there a ``ValueError`` asks for a layer whose
    output carries everything that follows, such as a block's output.
    """
    import keras

    if isinstance(model, keras.Sequential):
        for position, layer in enumerate(model.layers):
            if layer is target or any(inner is target for inner in layers_within(layer)):
                inner = None if layer is target else _continuation(layer, target)
                rest = model.layers[position + 1:]

                def after(x, inner=inner, rest=rest):
                    x = x if inner is None else inner(x)
                    for following in rest:
                        x = following(x, training=False)
                    return x

                return after
    cuts = []
    if target in model.layers and not isinstance(target, keras.Model):
        cuts.append((target.output, None))
    else:
        container = next(layer for layer in model.layers
                         if layer is target or any(inner is target for inner in layers_within(layer)))
        inner = None if container is target else _continuation(container, target)
        cuts += [(node.output_tensors[0], inner) for node in container._inbound_nodes]
    for tensor, inner in cuts:
        if tensor is model.outputs[0]:  # the cut is the model's output: nothing follows
            return lambda x, inner=inner: x if inner is None else inner(x)
        try:
            after_model = keras.Model(tensor, model.output)
        except ValueError:
            continue
        return lambda x, inner=inner: after_model(x if inner is None else inner(x), training=False)
    raise ValueError(
        f"layer_name: on the {keras.backend.backend()} backend Grad-CAM cuts model {model.name!r} after "
        f"{target.name!r}, but a connection skips over that layer; pass a layer whose output carries "
        "everything that follows (e.g. a residual block's output)")


def activations(model, image, layer_name=None):
    """The output of a layer (the first convolution by default) for one face, as float32 ``(H, W, C)``.

    ``image`` is one ``(H, W, C)`` face, uint8 or float, prepared as the model expects
    (resized, channels converted, scaled to [0, 1]). Lesson 01_convolution.
    """
    layer = find_layer(model, layer_name, last=False)
    activation, _ = _forward(model, _one_image_batch(model, image), layer)
    activation = np.asarray(activation, dtype=np.float32)[0]
    if activation.ndim != 3:
        raise ValueError(f"layer {layer.name!r}: expected a 4-D (N, H, W, C) output, found shape "
                         f"{(None,) + activation.shape}")
    return activation


def _activation_and_gradient(model, inputs, layer, class_index):
    """``(activation, d score / d activation, class index)`` of ``layer`` for a batch of one.

    The score is the model's output for ``class_index`` (default: the predicted class).
    The gradient comes from the backend Keras runs on.
    """
    import keras

    def checked(output, index):
        index = int(np.argmax(np.asarray(output)[0])) if index is None else index
        if not 0 <= index < output.shape[-1]:
            raise ValueError(f"class_index: expected 0-{output.shape[-1] - 1}, found {index}")
        return index

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            activation, output = _forward(model, inputs, layer)
            class_index = checked(output, class_index)
            score = tf.cast(output, tf.float32)[0, class_index]
        gradient = tape.gradient(score, activation)
    elif backend == "jax":
        import jax

        activation, output = _forward(model, inputs, layer)
        class_index = checked(output, class_index)
        after = _continuation(model, layer)
        gradient = jax.grad(lambda x: after(x)[0, class_index].astype("float32"))(activation)
    elif backend == "torch":
        activation, output = _forward(model, inputs, layer)
        class_index = checked(output, class_index)
        activation = activation.detach().requires_grad_(True)
        _continuation(model, layer)(activation)[0, class_index].float().backward()
        gradient = activation.grad
    else:
        raise ValueError(f"Keras backend {backend!r}: Grad-CAM supports tensorflow, jax and torch")
    if gradient is None or len(activation.shape) != 4:
        raise ValueError(f"layer {layer.name!r}: expected a 4-D output that the prediction depends on")
    return (np.asarray(keras.ops.convert_to_numpy(activation), dtype=np.float32),
            np.asarray(keras.ops.convert_to_numpy(gradient), dtype=np.float32), class_index)


def gradcam_heatmap(model, image, class_index=None, layer_name=None):
    """Return the Grad-CAM heatmap of one image as float32 ``(H, W)`` in [0, 1].

    Grad-CAM (Selvaraju et al., 2017): the gradient of the class score with respect to a
    convolution layer's output (the last one by default), averaged over positions, weighs
    each channel; the weighted sum of the channels, clipped at zero, is resized to the image
    and divided by its maximum (all zeros when nothing speaks for the class).
    ``class_index`` defaults to the predicted class; the score is the model's output for it.
    Introduced in lesson 08_evaluation.
    """
    import keras

    layer = find_layer(model, layer_name, last=True)
    image = np.asarray(image)
    activation, gradient, class_index = _activation_and_gradient(
        model, _one_image_batch(model, image), layer, class_index)
    weights = gradient.mean(axis=(1, 2))  # one weight per channel
    cam = np.maximum(np.einsum("bhwc,bc->bhw", activation, weights), 0.0)[..., np.newaxis]
    cam = keras.ops.convert_to_numpy(keras.ops.image.resize(cam, image.shape[:2], interpolation="bilinear"))
    cam = np.clip(np.asarray(cam, dtype=np.float32)[0, ..., 0], 0.0, None)
    peak = cam.max()
    return (cam / peak if peak > 0 else np.zeros_like(cam)).astype(np.float32)
