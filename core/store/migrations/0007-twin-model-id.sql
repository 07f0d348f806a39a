-- The twin's modelId (IoT Plug and Play): the DTDL model id the device announced at connect (`model-id=` in the MQTT
-- username, iothub-wire.md §2.1). IoT Hub shows "" in the twin of a device that announced none.
-- https://learn.microsoft.com/azure/iot-develop/concepts-developer-guide-device#model-id-announcement
ALTER TABLE twins ADD COLUMN model_id text NOT NULL DEFAULT '' CHECK (char_length(model_id) <= 512);
